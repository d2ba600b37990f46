/**
 * aws-cdk-lib's lifecycle rules (`aws_ecr.LifecycleRule`), rendered into the
 * text of a lifecycle policy exactly as `Repository.addLifecycleRule` and its
 * renderer do (aws-cdk-lib 2.257.0, aws-ecr/lib/repository.ts: addLifecycleRule,
 * orderedLifecycleRules, validateAnyRuleLast, renderLifecycleRule): the same
 * defaults, the same priorities, the same rules refused, the same JSON text
 * as the `LifecyclePolicyText` of a private repository with these rules.
 * test/lifecycle-selection-construct.test.ts compares the two.
 */
import { Token, aws_ecr as ecr } from 'aws-cdk-lib';
import { quoteValue } from './validation';

const NAME = 'ImageSelection.fromLifecycleRules';

/** A rule with its tagStatus defaulted, and where the caller gave it. */
interface AddedRule {
  readonly rule: ecr.LifecycleRule;
  readonly index: number;
}

/**
 * The policy text of the rules, as aws-cdk-lib renders it for a private
 * repository.
 * @throws when aws-cdk-lib would refuse a rule, or a rule holds a token; the message lists every problem
 */
export function renderLifecycleRules(rules: readonly ecr.LifecycleRule[]): string {
  if (!Array.isArray(rules)) {
    throw new Error(`${NAME} takes a list of lifecycle rules, got ${quoteValue(rules)}`);
  }
  const problems: string[] = [];
  const added: AddedRule[] = [];
  rules.forEach((given, index) => {
    const ruleProblems = [...tokenProblems(given, index), ...addProblems(given, index, added)];
    problems.push(...ruleProblems);
    if (ruleProblems.length === 0) added.push({ rule: withDefaultTagStatus(given), index });
  });
  if (problems.length > 0) fail(problems);

  const ordered = orderedRules(added);
  if ('problems' in ordered) fail(ordered.problems);
  const rendered: object[] = [];
  for (const { rule, index } of ordered.rules) {
    let countNumber: number | undefined;
    try {
      countNumber = rule.maxImageAge?.toDays() ?? rule.maxImageCount;
    } catch (error) {
      problems.push(`rules[${index}]: maxImageAge ${(error as Error).message}`);
      continue;
    }
    rendered.push({
      rulePriority: rule.rulePriority,
      description: rule.description,
      selection: {
        tagStatus: rule.tagStatus ?? ecr.TagStatus.ANY,
        tagPrefixList: rule.tagPrefixList,
        tagPatternList: rule.tagPatternList,
        countType: rule.maxImageAge !== undefined ? 'sinceImagePushed' : 'imageCountMoreThan',
        countNumber,
        countUnit: rule.maxImageAge !== undefined ? 'days' : undefined,
      },
      action: { type: 'expire' },
    });
  }
  if (problems.length > 0) fail(problems);
  return JSON.stringify({ rules: rendered });
}

function fail(problems: readonly string[]): never {
  throw new Error(`${NAME} has invalid rules:\n` + problems.map((problem) => `  - ${problem}`).join('\n'));
}

/** aws-cdk-lib's default: TAGGED when a tag list is given, ANY otherwise. */
function withDefaultTagStatus(rule: ecr.LifecycleRule): ecr.LifecycleRule {
  if (rule.tagStatus !== undefined) return { ...rule };
  const tagStatus = rule.tagPrefixList === undefined && rule.tagPatternList === undefined ? ecr.TagStatus.ANY : ecr.TagStatus.TAGGED;
  return { ...rule, tagStatus };
}

/**
 * A token anywhere in a rule: the text is rendered at synth time, and a value
 * known at deploy time only cannot be written into it (aws-cdk-lib would
 * write the token's CloudFormation object into the JSON text).
 */
function tokenProblems(rule: ecr.LifecycleRule, index: number): string[] {
  const fields: Array<[string, unknown]> = [
    ['rulePriority', rule.rulePriority],
    ['description', rule.description],
    ['tagStatus', rule.tagStatus],
    ['tagPrefixList', rule.tagPrefixList],
    ['tagPatternList', rule.tagPatternList],
    ['maxImageCount', rule.maxImageCount],
  ];
  for (const name of ['tagPrefixList', 'tagPatternList'] as const) {
    (Array.isArray(rule[name]) ? (rule[name] as string[]) : []).forEach((entry, i) => fields.push([`${name}[${i}]`, entry]));
  }
  const problems = fields
    .filter(([, value]) => value !== undefined && Token.isUnresolved(value))
    .map(
      ([name]) =>
        `rules[${index}].${name} is a token: the policy is written at synth time (for values known at deploy time, give its text to fromLifecyclePolicyText)`,
    );
  if (rule.maxImageAge !== undefined && rule.maxImageAge.isUnresolved()) {
    problems.push(
      `rules[${index}].maxImageAge is a token: the policy is written at synth time (for values known at deploy time, give its text to fromLifecyclePolicyText)`,
    );
  }
  return problems;
}

/** What `Repository.addLifecycleRule` refuses, in its order. */
function addProblems(given: ecr.LifecycleRule, index: number, added: readonly AddedRule[]): string[] {
  const rule = withDefaultTagStatus(given);
  const where = `rules[${index}]`;
  const isEmpty = (list: readonly string[] | undefined) => list === undefined || list.length === 0;
  const problems: string[] = [];
  if (rule.tagStatus === ecr.TagStatus.TAGGED && isEmpty(rule.tagPrefixList) && isEmpty(rule.tagPatternList)) {
    problems.push(`${where}: TagStatus.TAGGED needs a tagPrefixList or a tagPatternList (got neither, or only empty lists)`);
  }
  if (rule.tagStatus !== ecr.TagStatus.TAGGED && (rule.tagPrefixList !== undefined || rule.tagPatternList !== undefined)) {
    problems.push(`${where}: tagPrefixList and tagPatternList go with TagStatus.TAGGED only (tagStatus is ${quoteValue(rule.tagStatus)})`);
  }
  if (rule.tagPrefixList !== undefined && rule.tagPatternList !== undefined) {
    problems.push(`${where}: tagPrefixList and tagPatternList are both given (a rule takes one or the other)`);
  }
  (rule.tagPatternList ?? []).forEach((pattern, i) => {
    const wildcards = pattern.split('*').length - 1;
    if (wildcards > 4)
      problems.push(`${where}: tagPatternList[${i}] ${quoteValue(pattern)} has ${wildcards} wildcards (expected at most 4 * a pattern)`);
  });
  if ((rule.maxImageAge !== undefined) === (rule.maxImageCount !== undefined)) {
    const got = rule.maxImageAge !== undefined ? 'both' : 'neither';
    problems.push(`${where}: give exactly one of maxImageAge and maxImageCount (got ${got})`);
  }
  const firstAny = added.find((other) => other.rule.tagStatus === ecr.TagStatus.ANY);
  if (rule.tagStatus === ecr.TagStatus.ANY && firstAny !== undefined) {
    problems.push(`${where}: a second TagStatus.ANY rule, after rules[${firstAny.index}] (a policy has one)`);
  }
  return problems;
}

/**
 * aws-cdk-lib's order and priorities: the rules with a rulePriority in the
 * order given, then those without (numbered on from the highest given), then
 * the ANY rule; an ANY rule with a priority must then be the last.
 */
function orderedRules(added: readonly AddedRule[]): { readonly rules: AddedRule[] } | { readonly problems: string[] } {
  const isAny = ({ rule }: AddedRule) => rule.tagStatus === ecr.TagStatus.ANY;
  const prioritized = added.filter((entry) => entry.rule.rulePriority !== undefined && !isAny(entry));
  const automatic = added.filter((entry) => entry.rule.rulePriority === undefined && !isAny(entry));
  const anyRules = added.filter(isAny);
  if (anyRules.length > 0 && anyRules[0].rule.rulePriority !== undefined && automatic.length > 0) {
    return {
      problems: [
        `rules[${anyRules[0].index}]: the TagStatus.ANY rule has rulePriority ${anyRules[0].rule.rulePriority}, but rules[${automatic[0].index}] has none ` +
          '(remove the rulePriority of the ANY rule: it then goes last)',
      ],
    };
  }
  const given = prioritized.map(({ rule }) => rule.rulePriority as number);
  let next = (given.length > 0 ? Math.max(...given) : 0) + 1;
  const rules = [...prioritized, ...automatic, ...anyRules].map(({ rule, index }) => ({
    rule: { ...rule, rulePriority: rule.rulePriority ?? next++ },
    index,
  }));
  const anyRule = rules.find(isAny);
  if (anyRule !== undefined) {
    const highest = rules.reduce((top, entry) => ((entry.rule.rulePriority as number) > (top.rule.rulePriority as number) ? entry : top));
    if (anyRule.rule.rulePriority !== highest.rule.rulePriority) {
      return {
        problems: [
          `rules[${anyRule.index}]: the TagStatus.ANY rule has rulePriority ${anyRule.rule.rulePriority}, lower than rulePriority ${highest.rule.rulePriority} of rules[${highest.index}] ` +
            '(the ANY rule is evaluated last: give it the highest priority, or none)',
        ],
      };
    }
  }
  return { rules };
}
