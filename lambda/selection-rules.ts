/**
 * Selection rules: the rules (rules.ts) a selection stands for. An
 * ImageSelection is one rule; a lifecycle policy is one rule per policy
 * rule, with private ECR's meanings:
 *
 * - tagStatus `any` / `untagged` / `tagged` with a tagPrefixList or a
 *   tagPatternList (each entry must match one of the image's tags; in a
 *   pattern, `*` is the only wildcard);
 * - imageCountMoreThan N: the rule keeps the newest N of what it selects;
 * - sinceImagePushed N days: the rule expires what was pushed more than
 *   N × 24 hours before the evaluation (LIFECYCLE_DAY_MS);
 * - expire: the whole image goes, every tag with it.
 */
import { LIFECYCLE_DAY_MS, LifecyclePolicyDocument, LifecyclePolicyRule, WireSelection } from '../lib/contract';
import { parseLifecyclePolicyText } from '../lib/validation';
import type { Rule, TagSelection, TagTest } from './rules';

/** The rules of any selection, in the order given. */
export function rulesOf(selection: WireSelection): Rule[] {
  return selection.Match === 'lifecycle' ? rulesOfPolicy(parseLifecyclePolicyText(selection.LifecyclePolicyText)) : [ruleOfSelection(selection)];
}

/**
 * The rule an ImageSelection stands for: allImages, untaggedImages or
 * tagsMatching, narrowed by olderThan, keepNewest and protectTags; its
 * patterns have `*` and `?`, and tagsMatching removes the matching tags only.
 */
export function ruleOfSelection(selection: WireSelection): Rule {
  const globs = (patterns: readonly string[] | undefined): TagTest[] => (patterns ?? []).map((glob) => ({ glob, questionMark: true }));
  const tags: TagSelection =
    selection.Match === 'all'
      ? { status: 'any' }
      : selection.Match === 'untagged'
        ? { status: 'untagged' }
        : selection.Match === 'tagged'
          ? { status: 'tagged', some: globs(selection.TagPatterns) }
          : unknownMatch(selection.Match);
  return {
    priority: 1,
    tags,
    ...(selection.OlderThanSeconds !== undefined ? { olderThanMs: Number(selection.OlderThanSeconds) * 1000 } : {}),
    ...(selection.KeepNewest !== undefined ? { keepNewest: Number(selection.KeepNewest) } : {}),
    ...(selection.ProtectTags !== undefined ? { protect: globs(selection.ProtectTags) } : {}),
    removes: selection.Match === 'tagged' ? 'matchingTags' : 'image',
  };
}

function unknownMatch(match: string): never {
  throw new Error(`a selection of kind ${JSON.stringify(match)} is not one rule`);
}

/** The rules of a lifecycle policy (checked by lifecyclePolicyProblems), in the policy's order. */
export function rulesOfPolicy(policy: LifecyclePolicyDocument): Rule[] {
  return policy.rules.map(ruleOfPolicyRule);
}

function ruleOfPolicyRule(rule: LifecyclePolicyRule): Rule {
  const { tagStatus, tagPrefixList, tagPatternList, countType, countNumber } = rule.selection;
  const tags: TagSelection =
    tagStatus === 'tagged'
      ? {
          status: 'tagged',
          every: tagPrefixList !== undefined ? tagPrefixList.map((prefix) => ({ prefix })) : (tagPatternList ?? []).map((glob) => ({ glob })),
        }
      : { status: tagStatus };
  return {
    priority: rule.rulePriority,
    ...(rule.description !== undefined ? { description: rule.description } : {}),
    tags,
    ...(countType === 'imageCountMoreThan' ? { keepNewest: countNumber } : { olderThanMs: countNumber * LIFECYCLE_DAY_MS }),
    removes: 'image',
  };
}
