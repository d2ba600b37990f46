/**
 * A reference evaluator of private ECR lifecycle policies, written straight
 * from the documentation's sentences and apart from lambda/rules.ts, so that
 * the two can be checked against each other. Deliberately simple: quadratic
 * where it may be, no regular expressions, no shared code with the engine.
 *
 * Source: "Automate the cleanup of images by using lifecycle policies in
 * Amazon ECR", "Lifecycle policy evaluation rules",
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
 * The quotes below are its sentences. Where it is silent, the decisions of
 * docs/lifecycle-policies.md: equal push times rank by digest (the smaller is
 * the younger), an unknown push time (+Infinity) is the youngest and never
 * older than any number of days, a day is 24 hours before `nowMs`, tags
 * compare case-sensitively.
 *
 * It takes a policy that lib/validation.ts accepts; it checks nothing.
 */
import type { LifecyclePolicyDocument, LifecyclePolicyRule } from '../../lib/contract';

export interface ReferenceImage {
  readonly digest: string;
  readonly tags: readonly string[];
  /** Epoch milliseconds; +Infinity when unknown. */
  readonly pushedAt: number;
}

const DAY = 24 * 60 * 60 * 1000;

/** Whether `pattern` (`*` any run of characters, nothing else special) matches the whole of `tag`. */
export function wildcardMatches(pattern: string, tag: string): boolean {
  if (pattern === '') return tag === '';
  if (pattern[0] === '*') {
    for (let rest = 0; rest <= tag.length; rest++) {
      if (wildcardMatches(pattern.slice(1), tag.slice(rest))) return true;
    }
    return false;
  }
  return tag !== '' && tag[0] === pattern[0] && wildcardMatches(pattern.slice(1), tag.slice(1));
}

/** Whether the rule identifies the image by its tags (its "tagging requirements"). */
function identifies(rule: LifecyclePolicyRule, image: ReferenceImage): boolean {
  const selection = rule.selection;
  // "If you specify any, then all images have the rule evaluated against them."
  if (selection.tagStatus === 'any') return true;
  if (selection.tagStatus === 'untagged') return image.tags.length === 0;
  // "An image is successfully matched if all of the tags in the tagPatternList
  // or tagPrefixList value are matched against any of the image's tags."
  if (selection.tagPrefixList !== undefined) {
    return selection.tagPrefixList.every((prefix) => image.tags.some((tag) => tag.slice(0, prefix.length) === prefix));
  }
  return (selection.tagPatternList ?? []).every((pattern) => image.tags.some((tag) => wildcardMatches(pattern, tag)));
}

/** Whether `a` is younger than `b`: pushed later, or at the same time with the smaller digest. */
function younger(a: ReferenceImage, b: ReferenceImage): boolean {
  return a.pushedAt > b.pushedAt || (a.pushedAt === b.pushedAt && a.digest < b.digest);
}

/** The images a rule marks for expiration, looking at every image it identifies. */
function marks(rule: LifecyclePolicyRule, identified: readonly ReferenceImage[], nowMs: number): ReferenceImage[] {
  const { countType, countNumber } = rule.selection;
  if (countType === 'imageCountMoreThan') {
    // "Images are sorted from youngest to oldest based on pushed_at_time and
    // then all images greater than the specified count are expired."
    return identified.filter((image) => identified.filter((other) => younger(other, image)).length >= countNumber);
  }
  // "All images whose pushed_at_time is older than the specified number of days based on countNumber are expired."
  return identified.filter((image) => nowMs - image.pushedAt > countNumber * DAY);
}

/** Digest -> the rulePriority of the rule that expires it; images absent stay. */
export function referenceExpirations(policy: LifecyclePolicyDocument, images: readonly ReferenceImage[], nowMs: number): Map<string, number> {
  // "All rules are evaluated at the same time, regardless of rule priority."
  const evaluated = policy.rules.map((rule) => {
    const identified = images.filter((image) => identifies(rule, image));
    return { rule, identified, marked: marks(rule, identified, nowMs) };
  });
  // "After all rules are evaluated, they are then applied based on rule priority."
  evaluated.sort((a, b) => a.rule.rulePriority - b.rule.rulePriority);
  const expired = new Map<string, number>();
  const identifiedByHigherRule = new Set<string>();
  for (const { rule, identified, marked } of evaluated) {
    for (const image of marked) {
      // "An image is expired by exactly one or zero rules." "An image that
      // matches the tagging requirements of a rule cannot be expired by a rule
      // with a lower priority." "Rules can never mark images that are marked by
      // higher priority rules, but can still identify them as if they haven't
      // been expired."
      if (!identifiedByHigherRule.has(image.digest) && !expired.has(image.digest)) {
        expired.set(image.digest, rule.rulePriority);
      }
    }
    for (const image of identified) identifiedByHigherRule.add(image.digest);
  }
  return expired;
}
