/**
 * AWS's worked examples of lifecycle policies, with their documented outcomes:
 * "Examples of lifecycle policies in Amazon ECR",
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
 * (its current text, with tagPatternList, and its earlier text, with
 * tagPrefixList). Each policy is the page's JSON; each repository is the
 * page's list of images. Every example is decided by the engine
 * (lambda/rules.ts, through selection-rules.ts) and by the reference
 * evaluator (test/support/lifecycle-reference.ts), and both must give the
 * documented result: which images expire, and by which rule.
 *
 * The examples that archive images, or select by pull or archive time, are
 * refused (ECR Public has no archive and records no pull times): the end of
 * this file.
 */
import type { LifecyclePolicyDocument } from '../../lib/contract';
import { lifecyclePolicyTextProblems } from '../../lib/validation';
import { evaluateRules } from '../../lambda/rules';
import { rulesOf } from '../../lambda/selection-rules';
import { referenceExpirations } from '../support/lifecycle-reference';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** An image of an example: named by a letter, pushed `daysAgo` days before NOW. */
const image = (name: string, tags: string[], daysAgo: number) => ({
  name,
  digest: `sha256:${name.charCodeAt(0).toString(16).padStart(64, '0')}`,
  tags,
  pushedAt: NOW - daysAgo * DAY,
});
type ExampleImage = ReturnType<typeof image>;

/** A rule of the examples' shape. */
const rule = (rulePriority: number, selection: Record<string, unknown>) => ({
  rulePriority,
  description: `Rule ${rulePriority}`,
  selection,
  action: { type: 'expire' },
});
const count = (countNumber: number) => ({ countType: 'imageCountMoreThan', countNumber });
const days = (countNumber: number) => ({ countType: 'sinceImagePushed', countUnit: 'days', countNumber });

/** Name -> priority of the rule that expires it, as the engine decides. */
function engineOutcome(policy: object, images: ExampleImage[]): Record<string, number> {
  const text = JSON.stringify(policy);
  expect(lifecyclePolicyTextProblems(text)).toEqual([]);
  const { images: decisions } = evaluateRules(images, rulesOf({ Match: 'lifecycle', LifecyclePolicyText: text }), NOW);
  return Object.fromEntries(decisions.flatMap((decision, index) => (decision.outcome === 'expire' ? [[images[index].name, decision.priority]] : [])));
}

/** Name -> priority of the rule that expires it, as the reference evaluator decides. */
function referenceOutcome(policy: object, images: ExampleImage[]): Record<string, number> {
  const expired = referenceExpirations(policy as LifecyclePolicyDocument, images, NOW);
  return Object.fromEntries(images.filter((i) => expired.has(i.digest)).map((i) => [i.name, expired.get(i.digest)!]));
}

function expectOutcome(policy: object, images: ExampleImage[], expected: Record<string, number>): void {
  expect(engineOutcome(policy, images)).toEqual(expected);
  expect(referenceOutcome(policy, images)).toEqual(expected);
}

describe('Filtering on image age / on image count', () => {
  test('tagged prod* older than 14 days: the prod images pushed more than 14 days ago expire', () => {
    const policy = {
      rules: [{ ...rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...days(14) }), description: 'Expire images older than 14 days' }],
    };
    const images = [
      image('A', ['prod-1'], 20),
      image('B', ['production'], 15),
      image('C', ['prod-2'], 14),
      image('D', ['dev'], 30),
      image('E', ['prod-3'], 1),
    ];
    // C, pushed exactly 14 days ago, is not older than 14 days.
    expectOutcome(policy, images, { A: 1, B: 1 });
  });

  test('untagged images older than 14 days (the earlier text of the page) expire', () => {
    const policy = { rules: [rule(1, { tagStatus: 'untagged', ...days(14) })] };
    const images = [image('A', [], 15), image('B', [], 13), image('C', ['v1'], 40)];
    expectOutcome(policy, images, { A: 1 });
  });

  test('keep only one untagged image, expire all others', () => {
    const policy = {
      rules: [{ ...rule(1, { tagStatus: 'untagged', ...count(1) }), description: 'Keep only one untagged image, expire all others' }],
    };
    const images = [image('A', [], 3), image('B', [], 2), image('C', [], 1), image('D', ['latest'], 10)];
    expectOutcome(policy, images, { A: 1, B: 1 });
  });
});

describe('Filtering on multiple rules', () => {
  const repository = () => [image('A', ['beta-1', 'prod-1'], 10), image('B', ['beta-2', 'prod-2'], 9), image('C', ['beta-3'], 8)];

  test('Example A: prod* then beta*: image A is expired (B, marked by rule 2, matched rule 1)', () => {
    const policy = {
      rules: [
        rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...count(1) }),
        rule(2, { tagStatus: 'tagged', tagPatternList: ['beta*'], ...count(1) }),
      ],
    };
    expectOutcome(policy, repository(), { A: 1 });
  });

  test('Example B: beta* then prod*: images A and B are expired, both by rule 1', () => {
    const policy = {
      rules: [
        rule(1, { tagStatus: 'tagged', tagPatternList: ['beta*'], ...count(1) }),
        rule(2, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...count(1) }),
      ],
    };
    expectOutcome(policy, repository(), { A: 1, B: 1 });
  });

  test('Examples A and B with tagPrefixList (the earlier text of the page): the same outcomes', () => {
    const prefixRule = (priority: number, prefix: string) => rule(priority, { tagStatus: 'tagged', tagPrefixList: [prefix], ...count(1) });
    expectOutcome({ rules: [prefixRule(1, 'prod'), prefixRule(2, 'beta')] }, repository(), { A: 1 });
    expectOutcome({ rules: [prefixRule(1, 'beta'), prefixRule(2, 'prod')] }, repository(), { A: 1, B: 1 });
  });

  test('the outcome depends on the priorities, not on the order the rules are written in', () => {
    const prod = rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...count(1) });
    const beta = rule(2, { tagStatus: 'tagged', tagPatternList: ['beta*'], ...count(1) });
    expectOutcome({ rules: [beta, prod] }, repository(), { A: 1 });
  });
});

describe('Filtering on multiple tags in a single rule', () => {
  test('Example A: alpha* and beta* older than 5 days: image C is expired (F is too recent; A, B, D, E lack a tag)', () => {
    const images = [
      image('A', ['alpha-1'], 12),
      image('B', ['beta-1'], 11),
      image('C', ['alpha-2', 'beta-2'], 10),
      image('D', ['alpha-3'], 4),
      image('E', ['beta-3'], 3),
      image('F', ['alpha-4', 'beta-4'], 2),
    ];
    expectOutcome({ rules: [rule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], ...days(5) })] }, images, { C: 1 });
    expectOutcome({ rules: [rule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], ...days(5) })] }, images, { C: 1 });
  });

  test('Example B: tags are not exclusive: alpha* and beta*, keep 1: images A and B are expired', () => {
    const images = [
      image('A', ['alpha-1', 'beta-1', 'gamma-1'], 10),
      image('B', ['alpha-2', 'beta-2'], 9),
      image('C', ['alpha-3', 'beta-3', 'gamma-2'], 8),
    ];
    expectOutcome({ rules: [rule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], ...count(1) })] }, images, { A: 1, B: 1 });
    expectOutcome({ rules: [rule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], ...count(1) })] }, images, { A: 1, B: 1 });
  });
});

describe('Filtering on all images', () => {
  test('Example A: any, keep 1: images A, B and C are expired', () => {
    const images = [image('A', ['alpha-1'], 4), image('B', ['beta-1'], 3), image('C', [], 2), image('D', ['alpha-2'], 1)];
    expectOutcome({ rules: [rule(1, { tagStatus: 'any', ...count(1) })] }, images, { A: 1, B: 1, C: 1 });
  });

  // The page says D and E were both pushed "1 day ago" and lists D first. Its
  // outcome needs E to be the newer (rule 3 keeps the newest image, E, and
  // expires D) and E not older than one day (rule 2 leaves it): D 25 hours
  // ago, E 23 hours ago.
  const exampleB = () => [
    image('A', ['alpha-1', 'beta-1'], 4),
    image('B', [], 3),
    image('C', ['alpha-2'], 2),
    { ...image('D', ['git hash'], 1), pushedAt: NOW - 25 * HOUR },
    { ...image('E', [], 1), pushedAt: NOW - 23 * HOUR },
  ];
  const policyB = {
    rules: [
      rule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*'], ...count(1) }),
      rule(2, { tagStatus: 'untagged', ...days(1) }),
      rule(3, { tagStatus: 'any', ...count(1) }),
    ],
  };

  test('Example B: every rule type in one policy: images A, B and D are expired, by rules 1, 2 and 3', () => {
    expectOutcome(policyB, exampleB(), { A: 1, B: 2, D: 3 });
  });

  test('Example B: rule 3 cannot mark A, B, C or E, which higher rules identified; each says which rule keeps it and why', () => {
    const images = exampleB();
    const { images: decisions, rules } = evaluateRules(images, rulesOf({ Match: 'lifecycle', LifecyclePolicyText: JSON.stringify(policyB) }), NOW);
    const byName = Object.fromEntries(decisions.map((decision, index) => [images[index].name, decision]));
    expect(byName.C).toMatchObject({ outcome: 'keep', reason: 'amongNewest', priority: 1 });
    expect(byName.E).toMatchObject({ outcome: 'keep', reason: 'tooRecent', priority: 2 });
    // The per-rule preview: how many images each rule identifies and expires.
    expect(rules.map(({ priority, selected, expired }) => ({ priority, selected, expired }))).toEqual([
      { priority: 1, selected: 2, expired: 1 },
      { priority: 2, selected: 2, expired: 1 },
      { priority: 3, selected: 5, expired: 1 },
    ]);
  });

  test('Example B with D and E pushed at the same instant: the tie goes by digest (E counts as the older), so D is kept', () => {
    const images = exampleB().map((i) => (i.name === 'D' || i.name === 'E' ? { ...i, pushedAt: NOW - 23 * HOUR } : i));
    // D's digest (…44) is smaller than E's (…45): D counts as the newer, rule 3 keeps it.
    expectOutcome(policyB, images, { A: 1, B: 2 });
  });
});

describe('the examples that ECR Public cannot honour are refused, naming the rule and the field', () => {
  const refusal = (policy: object) => lifecyclePolicyTextProblems(JSON.stringify(policy));

  test('Filtering on last pulled time (transition to archive)', () => {
    const policy = {
      rules: [
        {
          rulePriority: 1,
          description: 'Archive images not pulled in 90 days',
          selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
          action: { type: 'transition', targetStorageClass: 'archive' },
        },
      ],
    };
    expect(refusal(policy)).toEqual([
      'select.lifecyclePolicy rules[0] (rulePriority 1): selection.countType "sinceImagePulled" cannot be honoured by ECR Public: ECR Public records no pull times (allowed: imageCountMoreThan, sinceImagePushed)',
      'select.lifecyclePolicy rules[0] (rulePriority 1): action.type "transition" cannot be honoured by ECR Public, which has no archive storage class to move images to (allowed: expire)',
    ]);
  });

  test('Filtering on archive transition time (expire from archive)', () => {
    const policy = {
      rules: [
        {
          rulePriority: 1,
          description: 'Expire images archived for more than 365 days',
          selection: { tagStatus: 'any', storageClass: 'archive', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 },
          action: { type: 'expire' },
        },
      ],
    };
    expect(refusal(policy)).toEqual([
      'select.lifecyclePolicy rules[0] (rulePriority 1): selection.storageClass "archive" cannot be honoured by ECR Public, which has no archive storage class (allowed: standard)',
      'select.lifecyclePolicy rules[0] (rulePriority 1): selection.countType "sinceImageTransitioned" cannot be honoured by ECR Public: ECR Public has no archive storage class, so no image is ever transitioned (allowed: imageCountMoreThan, sinceImagePushed)',
    ]);
  });

  test('Archiving images older than a number of days (sinceImagePushed, but transition)', () => {
    const policy = {
      rules: [
        {
          rulePriority: 1,
          description: 'Archive production images older than 30 days',
          selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 },
          action: { type: 'transition', targetStorageClass: 'archive' },
        },
      ],
    };
    expect(refusal(policy)).toEqual([
      'select.lifecyclePolicy rules[0] (rulePriority 1): action.type "transition" cannot be honoured by ECR Public, which has no archive storage class to move images to (allowed: expire)',
    ]);
  });
});
