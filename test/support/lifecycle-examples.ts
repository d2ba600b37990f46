/**
 * AWS's worked examples of lifecycle policies, with their documented outcomes:
 * "Examples of lifecycle policies in Amazon ECR",
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
 * (its current text, with tagPatternList, and its earlier text, with
 * tagPrefixList). Each policy is the page's JSON; each repository is the
 * page's list of images, each pushed some time before the evaluation. Used by
 * test/unit/lifecycle-examples.test.ts (the engine and the reference
 * evaluator) and test/integration/lifecycle-policies.test.ts (the shipped
 * handler on the local ECR Public).
 */

const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** An image of an example: named by a letter, pushed `ageMs` before the evaluation. */
export interface ExampleImage {
  readonly name: string;
  readonly tags: readonly string[];
  readonly ageMs: number;
}

export interface LifecycleExample {
  /** The section of the page, and what it shows. */
  readonly title: string;
  readonly policy: { readonly rules: readonly object[] };
  readonly images: readonly ExampleImage[];
  /** Name -> priority of the rule that expires it, as the page says; the images absent stay. */
  readonly expected: Readonly<Record<string, number>>;
  /**
   * The outcome depends on which of two images pushed at the same instant
   * counts as the newer, which the page leaves open: decided by digest (the
   * smaller is the newer), so it holds for the example's own digests only.
   */
  readonly dependsOnDigests?: boolean;
}

const image = (name: string, tags: string[], daysAgo: number): ExampleImage => ({ name, tags, ageMs: daysAgo * DAY });

/** A rule of the examples' shape. */
const rule = (rulePriority: number, selection: Record<string, unknown>, description = `Rule ${rulePriority}`) => ({
  rulePriority,
  description,
  selection,
  action: { type: 'expire' },
});
const count = (countNumber: number) => ({ countType: 'imageCountMoreThan', countNumber });
const days = (countNumber: number) => ({ countType: 'sinceImagePushed', countUnit: 'days', countNumber });

const multipleRules = () => [image('A', ['beta-1', 'prod-1'], 10), image('B', ['beta-2', 'prod-2'], 9), image('C', ['beta-3'], 8)];
const multipleTagsA = () => [
  image('A', ['alpha-1'], 12),
  image('B', ['beta-1'], 11),
  image('C', ['alpha-2', 'beta-2'], 10),
  image('D', ['alpha-3'], 4),
  image('E', ['beta-3'], 3),
  image('F', ['alpha-4', 'beta-4'], 2),
];
const multipleTagsB = () => [
  image('A', ['alpha-1', 'beta-1', 'gamma-1'], 10),
  image('B', ['alpha-2', 'beta-2'], 9),
  image('C', ['alpha-3', 'beta-3', 'gamma-2'], 8),
];

// The page says D and E of "Filtering on all images", example B, were both pushed "1 day ago" and lists D first.
// Its outcome needs E to be the newer (rule 3 keeps the newest image, E, and expires D) and E not older than one
// day (rule 2 leaves it): D 25 hours ago, E 23 hours ago.
const allImagesB = () => [
  image('A', ['alpha-1', 'beta-1'], 4),
  image('B', [], 3),
  image('C', ['alpha-2'], 2),
  { name: 'D', tags: ['git hash'], ageMs: 25 * HOUR },
  { name: 'E', tags: [], ageMs: 23 * HOUR },
];
export const ALL_IMAGES_B_POLICY = {
  rules: [
    rule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*'], ...count(1) }),
    rule(2, { tagStatus: 'untagged', ...days(1) }),
    rule(3, { tagStatus: 'any', ...count(1) }),
  ],
};

/** Every example of the page that ECR Public can honour, with its documented outcome. */
export const LIFECYCLE_EXAMPLES: readonly LifecycleExample[] = [
  {
    title: 'Filtering on image age: tagged prod* older than 14 days (C, pushed exactly 14 days ago, is not older)',
    policy: { rules: [rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...days(14) }, 'Expire images older than 14 days')] },
    images: [
      image('A', ['prod-1'], 20),
      image('B', ['production'], 15),
      image('C', ['prod-2'], 14),
      image('D', ['dev'], 30),
      image('E', ['prod-3'], 1),
    ],
    expected: { A: 1, B: 1 },
  },
  {
    title: 'Filtering on image age: untagged images older than 14 days (the earlier text of the page)',
    policy: { rules: [rule(1, { tagStatus: 'untagged', ...days(14) })] },
    images: [image('A', [], 15), image('B', [], 13), image('C', ['v1'], 40)],
    expected: { A: 1 },
  },
  {
    title: 'Filtering on image count: keep only one untagged image, expire all others',
    policy: { rules: [rule(1, { tagStatus: 'untagged', ...count(1) }, 'Keep only one untagged image, expire all others')] },
    images: [image('A', [], 3), image('B', [], 2), image('C', [], 1), image('D', ['latest'], 10)],
    expected: { A: 1, B: 1 },
  },
  {
    title: 'Filtering on multiple rules, example A: prod* then beta*: A is expired (B, marked by rule 2, matched rule 1)',
    policy: {
      rules: [
        rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...count(1) }),
        rule(2, { tagStatus: 'tagged', tagPatternList: ['beta*'], ...count(1) }),
      ],
    },
    images: multipleRules(),
    expected: { A: 1 },
  },
  {
    title: 'Filtering on multiple rules, example B: beta* then prod*: A and B are expired, both by rule 1',
    policy: {
      rules: [
        rule(1, { tagStatus: 'tagged', tagPatternList: ['beta*'], ...count(1) }),
        rule(2, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...count(1) }),
      ],
    },
    images: multipleRules(),
    expected: { A: 1, B: 1 },
  },
  {
    title: 'Filtering on multiple rules, example A with tagPrefixList (the earlier text of the page)',
    policy: {
      rules: [
        rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], ...count(1) }),
        rule(2, { tagStatus: 'tagged', tagPrefixList: ['beta'], ...count(1) }),
      ],
    },
    images: multipleRules(),
    expected: { A: 1 },
  },
  {
    title: 'Filtering on multiple rules, example B with tagPrefixList (the earlier text of the page)',
    policy: {
      rules: [
        rule(1, { tagStatus: 'tagged', tagPrefixList: ['beta'], ...count(1) }),
        rule(2, { tagStatus: 'tagged', tagPrefixList: ['prod'], ...count(1) }),
      ],
    },
    images: multipleRules(),
    expected: { A: 1, B: 1 },
  },
  {
    title: 'Filtering on multiple rules: the outcome depends on the priorities, not on the order the rules are written in',
    policy: {
      rules: [
        rule(2, { tagStatus: 'tagged', tagPatternList: ['beta*'], ...count(1) }),
        rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], ...count(1) }),
      ],
    },
    images: multipleRules(),
    expected: { A: 1 },
  },
  {
    title: 'Filtering on multiple tags in a single rule, example A: alpha* and beta* older than 5 days: C is expired',
    policy: { rules: [rule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], ...days(5) })] },
    images: multipleTagsA(),
    expected: { C: 1 },
  },
  {
    title: 'Filtering on multiple tags in a single rule, example A with tagPrefixList',
    policy: { rules: [rule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], ...days(5) })] },
    images: multipleTagsA(),
    expected: { C: 1 },
  },
  {
    title: 'Filtering on multiple tags in a single rule, example B: tags are not exclusive: alpha* and beta*, keep 1: A and B',
    policy: { rules: [rule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], ...count(1) })] },
    images: multipleTagsB(),
    expected: { A: 1, B: 1 },
  },
  {
    title: 'Filtering on multiple tags in a single rule, example B with tagPrefixList',
    policy: { rules: [rule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], ...count(1) })] },
    images: multipleTagsB(),
    expected: { A: 1, B: 1 },
  },
  {
    title: 'Filtering on all images, example A: any, keep 1: A, B and C are expired',
    policy: { rules: [rule(1, { tagStatus: 'any', ...count(1) })] },
    images: [image('A', ['alpha-1'], 4), image('B', ['beta-1'], 3), image('C', [], 2), image('D', ['alpha-2'], 1)],
    expected: { A: 1, B: 1, C: 1 },
  },
  {
    title: 'Filtering on all images, example B: every rule type in one policy: A, B and D are expired, by rules 1, 2 and 3',
    policy: ALL_IMAGES_B_POLICY,
    images: allImagesB(),
    expected: { A: 1, B: 2, D: 3 },
  },
  {
    title: 'Filtering on all images, example B with D and E pushed at the same instant: the tie goes by digest',
    policy: ALL_IMAGES_B_POLICY,
    images: allImagesB().map((i) => (i.name === 'D' || i.name === 'E' ? { ...i, ageMs: 23 * HOUR } : i)),
    // With the letters' digests, D's (…44) is smaller than E's (…45): D counts as the newer, rule 3 keeps it.
    expected: { A: 1, B: 2 },
    dependsOnDigests: true,
  },
];
