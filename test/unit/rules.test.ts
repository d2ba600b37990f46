/**
 * The rule engine (lambda/rules.ts): the decisions the documentation leaves
 * open, the reasons it gives for what it keeps, and properties over random
 * repositories and policies: the engine agrees with the reference evaluator
 * (test/support/lifecycle-reference.ts), respects priorities, does not care
 * in which order the rules are written, and decides a one-rule policy as its
 * ImageSelection twin; and select.ts, which decides every selection through
 * it, deletes what the reference evaluator expires on single-platform
 * repositories.
 */
import * as fc from 'fast-check';
import type { LifecyclePolicyDocument, WireImageId, WireSelection } from '../../lib/contract';
import { lifecyclePolicyProblems, selectionProblems } from '../../lib/validation';
import type { ListedImage } from '../../lambda/list';
import { Evaluation, ImageDecision, Rule, TopLevelImage, evaluateRules, mayExpireAny } from '../../lambda/rules';
import { ManifestRead, selectImages } from '../../lambda/select';
import { ruleOfSelection, rulesOf, rulesOfPolicy } from '../../lambda/selection-rules';
import { referenceExpirations } from '../support/lifecycle-reference';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const DAY = 86_400_000;
const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const img = (n: number, tags: string[], pushedAt: number): TopLevelImage => ({ digest: d(n), tags, pushedAt });
const policyRule = (rulePriority: number, selection: Record<string, unknown>) => ({ rulePriority, selection, action: { type: 'expire' } });
const evaluatePolicy = (images: TopLevelImage[], rules: object[]) => evaluateRules(images, rulesOfPolicy({ rules } as LifecyclePolicyDocument), NOW);
const expiredBy = (evaluation: Evaluation): Map<string, number> =>
  new Map(evaluation.images.flatMap((decision) => (decision.outcome === 'expire' ? [[decision.digest, decision.priority] as const] : [])));

describe('what the documentation leaves open, decided', () => {
  test('a day is 24 hours before the evaluation: an image pushed exactly N days ago is not older than N days, one a millisecond earlier is', () => {
    const images = [img(1, [], NOW - 3 * DAY), img(2, [], NOW - 3 * DAY - 1), img(3, [], NOW - 3 * DAY + 1)];
    const result = evaluatePolicy(images, [
      policyRule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 3 }),
    ]);
    expect([...expiredBy(result).keys()]).toEqual([d(2)]);
  });

  test('a day is not a calendar day: an image pushed 23 hours ago, yesterday by the calendar, is not one day old', () => {
    const midday = Date.UTC(2026, 5, 1, 1, 0, 0);
    const images = [img(1, [], midday - 23 * 3_600_000)];
    const rules = rulesOfPolicy({
      rules: [policyRule(1, { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })],
    } as never);
    expect(evaluateRules(images, rules, midday).images[0]).toMatchObject({ outcome: 'keep', reason: 'tooRecent' });
  });

  test('equal push times rank by digest, the smaller counting as newer, whatever the order of the listing', () => {
    const tied = [img(9, ['a'], NOW - DAY), img(3, ['b'], NOW - DAY), img(7, ['c'], NOW - DAY)];
    const rules = [policyRule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 })];
    expect([...expiredBy(evaluatePolicy(tied, rules)).keys()]).toEqual([d(9)]);
    expect([...expiredBy(evaluatePolicy([...tied].reverse(), rules)).keys()]).toEqual([d(9)]);
  });

  test('an image without a push time counts as the newest and is never old enough', () => {
    const images = [img(1, [], Number.POSITIVE_INFINITY), img(2, [], NOW - 10 * DAY), img(3, [], NOW - 20 * DAY)];
    const keepOne = evaluatePolicy(images, [policyRule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })]);
    expect([...expiredBy(keepOne).keys()].sort()).toEqual([d(2), d(3)]);
    const byAge = evaluatePolicy(images, [policyRule(1, { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })]);
    expect(byAge.images[0]).toMatchObject({ outcome: 'keep', reason: 'tooRecent' });
  });

  test('tags match case-sensitively: prod* selects prod-1, not PROD-1 nor Prod-1', () => {
    const images = [img(1, ['prod-1'], NOW - 9 * DAY), img(2, ['PROD-1'], NOW - 9 * DAY), img(3, ['Prod-1'], NOW - 9 * DAY)];
    const patterns = evaluatePolicy(images, [
      policyRule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
    ]);
    const prefixes = evaluatePolicy(images, [
      policyRule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
    ]);
    expect([...expiredBy(patterns).keys()]).toEqual([d(1)]);
    expect([...expiredBy(prefixes).keys()]).toEqual([d(1)]);
  });

  test('in a tagPatternList, * is the only wildcard: ? and . are themselves', () => {
    const images = [img(1, ['v1.0'], NOW - 9 * DAY), img(2, ['v1x0'], NOW - 9 * DAY), img(3, ['v?.0'], NOW - 9 * DAY)];
    const rules = (pattern: string) => [
      policyRule(1, { tagStatus: 'tagged', tagPatternList: [pattern], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
    ];
    expect([...expiredBy(evaluatePolicy(images, rules('v1.0'))).keys()]).toEqual([d(1)]);
    expect([...expiredBy(evaluatePolicy(images, rules('v?.0'))).keys()]).toEqual([d(3)]);
    expect([...expiredBy(evaluatePolicy(images, rules('*1*0'))).keys()].sort()).toEqual([d(1), d(2)]);
  });
});

describe('why an image stays', () => {
  const rules = [
    policyRule(1, { tagStatus: 'tagged', tagPatternList: ['release-*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }),
    policyRule(5, { tagStatus: 'tagged', tagPrefixList: ['pr-'], countType: 'imageCountMoreThan', countNumber: 1 }),
  ];
  const images = [
    img(1, ['release-1'], NOW - 40 * DAY),
    img(2, ['release-2', 'pr-7'], NOW - 2 * DAY),
    img(3, ['pr-8'], NOW - DAY),
    img(4, ['main'], NOW - 90 * DAY),
  ];

  test('each decision names the rule it belongs to, and what that rule did', () => {
    expect(evaluatePolicy(images, rules).images).toEqual<ImageDecision[]>([
      { digest: d(1), outcome: 'expire', priority: 1, removesImage: true },
      // pr-* would expire it (pr-8 is newer), but release-* selects it first and finds it too recent.
      { digest: d(2), outcome: 'keep', reason: 'tooRecent', priority: 1 },
      { digest: d(3), outcome: 'keep', reason: 'amongNewest', priority: 5 },
      { digest: d(4), outcome: 'keep', reason: 'noRule' },
    ]);
  });

  test('each rule says how many images it selected, expired and kept (the per-rule preview)', () => {
    expect(evaluatePolicy(images, rules).rules).toEqual([
      { priority: 1, selected: 2, expired: 1, keptNewest: 0, keptTooRecent: 1, keptProtected: 0 },
      { priority: 5, selected: 2, expired: 0, keptNewest: 1, keptTooRecent: 0, keptProtected: 0 },
    ]);
  });

  test('a rule that shares a priority with another is refused', () => {
    const twice = { priority: 2, tags: { status: 'any' }, removes: 'image' } as const;
    expect(() => evaluateRules(images, [twice, twice], NOW)).toThrow('two rules have priority 2');
  });
});

describe('ImageSelection as a rule', () => {
  const images = [
    img(1, ['latest', 'v2.0'], NOW - DAY),
    img(2, ['v1.0'], NOW - 40 * DAY),
    img(3, [], NOW - 40 * DAY),
    img(4, ['pr-1'], NOW - 10 * DAY),
    img(5, ['pr-2', 'keep'], NOW - 10 * DAY),
  ];
  const decide = (selection: WireSelection) => evaluateRules(images, rulesOf(selection), NOW).images;

  test('tagsMatching removes the matching tags only; the image goes when they were all it had', () => {
    expect(decide({ Match: 'tagged', TagPatterns: ['pr-?'] }).filter((x) => x.outcome === 'expire')).toEqual([
      { digest: d(4), outcome: 'expire', priority: 1, tags: ['pr-1'], removesImage: true },
      { digest: d(5), outcome: 'expire', priority: 1, tags: ['pr-2'], removesImage: false },
    ]);
  });

  test('protectTags keeps the whole image, and a protected image takes no keepNewest place', () => {
    const decisions = decide({ Match: 'all', ProtectTags: ['latest', 'keep'], KeepNewest: '1' });
    expect(decisions.map((x) => (x.outcome === 'expire' ? 'expire' : x.reason))).toEqual([
      'protected',
      'expire',
      'expire',
      'amongNewest',
      'protected',
    ]);
  });

  test('olderThan keeps what is more recent; keepNewest then ranks what is old enough', () => {
    const decisions = decide({ Match: 'all', OlderThanSeconds: String(5 * 86_400), KeepNewest: '1' });
    expect(decisions.map((x) => (x.outcome === 'expire' ? 'expire' : x.reason))).toEqual(['tooRecent', 'expire', 'expire', 'amongNewest', 'expire']);
  });
});

// ---------------------------------------------------------------------------
// Properties over random repositories and policies.

const TAGS = [
  'prod',
  'prod-1',
  'prod-2',
  'production',
  'PROD-3',
  'beta-1',
  'beta-2',
  'alpha-1',
  'alpha-2',
  'latest',
  'v1.0',
  'v1.1',
  'release',
  'git-abc',
];
const PREFIXES = ['prod', 'beta', 'alpha', 'v1', 'PROD', 're', 'l'];
const PATTERNS = ['prod*', '*-1', 'beta*', '*a*', 'v1.*', '*', 'prod-?', 'PROD*', 'prod-1', '*o*-*', 'release'];

/** A repository: up to 14 images, push times on a coarse grid (ties happen) around day boundaries, some unknown. */
const repositoryArb: fc.Arbitrary<TopLevelImage[]> = fc
  .array(
    fc.record({
      tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 3 }),
      pushedAt: fc.oneof(
        {
          weight: 12,
          arbitrary: fc
            .tuple(fc.integer({ min: 0, max: 12 }), fc.constantFrom(-1, 0, 1, 3_600_000))
            .map(([days, offset]) => NOW - days * DAY + offset),
        },
        { weight: 1, arbitrary: fc.constant(Number.POSITIVE_INFINITY) },
      ),
    }),
    { maxLength: 14 },
  )
  // A tag names one image of a repository: the later image takes it, as a push does.
  .map((images) => {
    const taken = new Set<string>();
    return images
      .map((image, index) => ({ digest: d(index + 1), pushedAt: image.pushedAt, tags: image.tags }))
      .reverse()
      .map((image) => {
        const tags = image.tags.filter((tag) => !taken.has(tag));
        tags.forEach((tag) => taken.add(tag));
        return { ...image, tags };
      })
      .reverse();
  });

const countArb = fc.oneof(
  fc.integer({ min: 1, max: 4 }).map((countNumber) => ({ countType: 'imageCountMoreThan', countNumber })),
  fc.integer({ min: 1, max: 10 }).map((countNumber) => ({ countType: 'sinceImagePushed', countUnit: 'days', countNumber })),
);
const taggedSelectionArb = fc.oneof(
  fc.uniqueArray(fc.constantFrom(...PREFIXES), { minLength: 1, maxLength: 2 }).map((tagPrefixList) => ({ tagStatus: 'tagged', tagPrefixList })),
  fc.uniqueArray(fc.constantFrom(...PATTERNS), { minLength: 1, maxLength: 2 }).map((tagPatternList) => ({ tagStatus: 'tagged', tagPatternList })),
);

/** A policy private ECR accepts: up to 4 tagged rules, at most one untagged rule, perhaps an `any` rule last; written in any order. */
const policyArb: fc.Arbitrary<LifecyclePolicyDocument> = fc
  .record({
    tagged: fc.array(fc.tuple(taggedSelectionArb, countArb), { maxLength: 4 }),
    untagged: fc.option(countArb, { nil: undefined }),
    any: fc.option(countArb, { nil: undefined }),
    priorities: fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { minLength: 6, maxLength: 6 }),
    order: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
  })
  .map(({ tagged, untagged, any, priorities, order }) => {
    const selections = [...tagged.map(([tags, count]) => ({ ...tags, ...count })), ...(untagged ? [{ tagStatus: 'untagged', ...untagged }] : [])];
    // Priorities ascending in the order drawn, then shuffled: the any rule gets the highest.
    const sorted = [...priorities].sort((a, b) => a - b);
    const rules = selections.map((selection, index) => ({ rulePriority: sorted[index], selection, action: { type: 'expire' } }));
    if (any) rules.push({ rulePriority: sorted[5], selection: { tagStatus: 'any', ...any }, action: { type: 'expire' } });
    const shuffled = rules.map((rule, index) => ({ rule, key: order[index] })).sort((a, b) => a.key - b.key);
    return { rules: shuffled.map(({ rule }) => rule) } as unknown as LifecyclePolicyDocument;
  })
  .filter((policy) => policy.rules.length > 0 && lifecyclePolicyProblems(policy).length === 0);

describe('properties over random repositories and policies', () => {
  test('the engine expires what the reference evaluator expires, by the same rule', () => {
    fc.assert(
      fc.property(repositoryArb, policyArb, (images, policy) => {
        const engine = expiredBy(evaluateRules(images, rulesOfPolicy(policy), NOW));
        expect(engine).toEqual(referenceExpirations(policy, images, NOW));
      }),
      { numRuns: 1500 },
    );
  });

  test('priorities are respected: an image is expired by the first rule that selects it by its tags, or not at all', () => {
    fc.assert(
      fc.property(repositoryArb, policyArb, (images, policy) => {
        const rules = rulesOfPolicy(policy);
        const evaluation = evaluateRules(images, rules, NOW);
        const alone = (rule: Rule) => evaluateRules(images, [rule], NOW).images;
        evaluation.images.forEach((decision, index) => {
          if (decision.outcome !== 'expire') return;
          // The rule that expires it selects it by its tags, and would expire it alone...
          const own = rules.find((rule) => rule.priority === decision.priority)!;
          expect(alone(own)[index]).toMatchObject({ outcome: 'expire' });
          // ...and no rule of a higher priority (lower number) selects it by its tags.
          for (const rule of rules.filter((r) => r.priority < decision.priority)) {
            expect(alone(rule)[index]).toMatchObject({ outcome: 'keep', reason: 'noRule' });
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  test('what a rule keeps, no other rule expires: an image a rule selects and keeps stays', () => {
    fc.assert(
      fc.property(repositoryArb, policyArb, (images, policy) => {
        const rules = rulesOfPolicy(policy).sort((a, b) => a.priority - b.priority);
        const evaluation = evaluateRules(images, rules, NOW);
        for (const rule of rules) {
          const alone = evaluateRules(images, [rule], NOW).images;
          alone.forEach((decision, index) => {
            if (decision.outcome === 'keep' && decision.reason !== 'noRule') {
              // Selected by this rule and kept by it: a rule of lower priority may not expire it.
              const final = evaluation.images[index];
              if (final.outcome === 'expire') expect(final.priority).toBeLessThan(rule.priority);
            }
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  test('the order the rules are written in does not matter, only their priorities', () => {
    fc.assert(
      fc.property(repositoryArb, policyArb, fc.nat(), (images, policy, rotation) => {
        const rotated = { rules: policy.rules.map((_, i) => policy.rules[(i + rotation) % policy.rules.length]) };
        expect(evaluateRules(images, rulesOfPolicy(rotated), NOW)).toEqual(evaluateRules(images, rulesOfPolicy(policy), NOW));
      }),
      { numRuns: 300 },
    );
  });

  test("each rule's count of expired images adds up to the images expired, and each image gets one decision", () => {
    fc.assert(
      fc.property(repositoryArb, policyArb, (images, policy) => {
        const evaluation = evaluateRules(images, rulesOfPolicy(policy), NOW);
        expect(evaluation.images.map((decision) => decision.digest)).toEqual(images.map((image) => image.digest));
        const expired = evaluation.images.filter((decision) => decision.outcome === 'expire').length;
        expect(evaluation.rules.reduce((sum, rule) => sum + rule.expired, 0)).toBe(expired);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------
// One engine: a one-rule policy and its ImageSelection twin decide the same,
// and select.ts turns the engine's decisions into the IDs it sends.

/** A one-rule policy and the ImageSelection that says the same thing. */
const twinArb = fc
  .record({
    kind: fc.constantFrom('any', 'untagged', 'pattern', 'prefix'),
    pattern: fc.constantFrom(...PATTERNS.filter((p) => !p.includes('?'))),
    prefix: fc.constantFrom(...PREFIXES),
    byCount: fc.boolean(),
    count: fc.integer({ min: 1, max: 4 }),
    days: fc.integer({ min: 1, max: 10 }),
  })
  .map(({ kind, pattern, prefix, byCount, count, days }) => {
    const tags =
      kind === 'any'
        ? { tagStatus: 'any' }
        : kind === 'untagged'
          ? { tagStatus: 'untagged' }
          : kind === 'pattern'
            ? { tagStatus: 'tagged', tagPatternList: [pattern] }
            : { tagStatus: 'tagged', tagPrefixList: [prefix] };
    const countPart = byCount
      ? { countType: 'imageCountMoreThan', countNumber: count }
      : { countType: 'sinceImagePushed', countUnit: 'days', countNumber: days };
    const policy = {
      rules: [{ rulePriority: 1, selection: { ...tags, ...countPart }, action: { type: 'expire' } }],
    } as unknown as LifecyclePolicyDocument;
    const selection: WireSelection = {
      Match: kind === 'any' ? 'all' : kind === 'untagged' ? 'untagged' : 'tagged',
      ...(kind === 'pattern' ? { TagPatterns: [pattern] } : kind === 'prefix' ? { TagPatterns: [`${prefix}*`] } : {}),
      ...(byCount ? { KeepNewest: String(count) } : { OlderThanSeconds: String(days * 86_400) }),
    };
    return { policy, selection };
  });

/** What a decision deletes, as BatchDeleteImage IDs (a tag with the digest it was listed on, as select.ts sends it). */
/** The IDs select.ts sends: a tag with its digest when the image loses every tag (it goes), by name alone when it keeps others. */
const idsOf = (decisions: readonly ImageDecision[], images: readonly { digest: string; tags: readonly string[] }[]): WireImageId[] =>
  decisions.flatMap((decision): WireImageId[] => {
    if (decision.outcome !== 'expire') return [];
    if (!decision.tags) return [{ imageDigest: decision.digest }];
    const goes = decision.tags.length === images.find((image) => image.digest === decision.digest)?.tags.length;
    return decision.tags.map((imageTag) => (goes ? { imageTag, imageDigest: decision.digest } : { imageTag }));
  });
/** select.ts's passes once the manifests it needs are read (here image manifests: no references, no subject). */
function selectedAfterReads(listing: readonly ListedImage[], selection: WireSelection): WireImageId[] {
  const manifests = new Map<string, ManifestRead>();
  let result = selectImages(listing, selection, NOW, manifests);
  while (result.needs.length > 0) {
    for (const digest of result.needs) manifests.set(digest, { references: [] });
    result = selectImages(listing, selection, NOW, manifests);
  }
  return result.passes.flat();
}
const sortedIds = (ids: readonly WireImageId[]) => ids.map((id) => JSON.stringify(id)).sort();

describe('one engine for every selection', () => {
  test('a one-rule policy and its ImageSelection twin expire the same images, for the same reasons', () => {
    fc.assert(
      fc.property(repositoryArb, twinArb, (images, { policy, selection }) => {
        expect(lifecyclePolicyProblems(policy)).toEqual([]);
        expect(selectionProblems(selection)).toEqual([]);
        const fromPolicy = evaluateRules(images, rulesOfPolicy(policy), NOW).images;
        const fromSelection = evaluateRules(images, [ruleOfSelection(selection)], NOW).images;
        // Same outcome and reason per image; tagsMatching removes tags where the policy expires the image.
        const strip = (decision: ImageDecision) => (decision.outcome === 'expire' ? { digest: decision.digest, outcome: 'expire' } : decision);
        expect(fromSelection.map(strip)).toEqual(fromPolicy.map(strip));
        expect(referenceExpirations(policy, images, NOW)).toEqual(expiredBy({ images: fromSelection, rules: [] }));
      }),
      { numRuns: 1000 },
    );
  });

  const selectionArb: fc.Arbitrary<WireSelection> = fc
    .record({
      Match: fc.constantFrom('all', 'untagged', 'tagged'),
      TagPatterns: fc.uniqueArray(fc.constantFrom(...PATTERNS), { minLength: 1, maxLength: 3 }),
      OlderThanSeconds: fc.option(fc.integer({ min: 1, max: 12 * 86_400 }).map(String), { nil: undefined }),
      KeepNewest: fc.option(fc.integer({ min: 1, max: 4 }).map(String), { nil: undefined }),
      ProtectTags: fc.option(fc.uniqueArray(fc.constantFrom('latest', 'v1.*', 'prod', 'release*'), { minLength: 1, maxLength: 2 }), {
        nil: undefined,
      }),
    })
    .map(({ Match, TagPatterns, ...rest }) => ({ Match, ...(Match === 'tagged' ? { TagPatterns } : {}), ...rest }) as WireSelection)
    .map((selection) => Object.fromEntries(Object.entries(selection).filter(([, v]) => v !== undefined)) as unknown as WireSelection)
    .filter((selection) => selectionProblems(selection).length === 0);

  test('select.ts sends for an ImageSelection the IDs of the decisions of the engine (single-platform images)', () => {
    fc.assert(
      fc.property(repositoryArb, selectionArb, (images, selection) => {
        const listing: ListedImage[] = images.map((image) => ({ ...image, mediaType: 'application/vnd.oci.image.manifest.v1+json' }));
        const today = selectedAfterReads(listing, selection);
        const engine = idsOf(evaluateRules(images, [ruleOfSelection(selection)], NOW).images, images);
        expect(sortedIds(engine)).toEqual(sortedIds(today));
      }),
      { numRuns: 1500 },
    );
  });
});

describe('mayExpireAny: when nothing can expire, nothing is read', () => {
  test('property: whenever some grouping of the manifests into images gives an image a rule expires, mayExpireAny says so', () => {
    const rulesArb = fc.oneof(
      policyArb.map((policy) => rulesOfPolicy(policy)),
      fc
        .record({
          Match: fc.constantFrom<WireSelection['Match']>('all', 'untagged', 'tagged'),
          TagPatterns: fc.uniqueArray(fc.constantFrom(...PATTERNS), { minLength: 1, maxLength: 2 }),
          OlderThanSeconds: fc.option(fc.integer({ min: 1, max: 12 * 86_400 }).map(String), { nil: undefined }),
          KeepNewest: fc.option(fc.integer({ min: 1, max: 6 }).map(String), { nil: undefined }),
        })
        .map(({ Match, TagPatterns, OlderThanSeconds, KeepNewest }) => [
          ruleOfSelection({
            Match,
            ...(Match === 'tagged' ? { TagPatterns } : {}),
            ...(OlderThanSeconds ? { OlderThanSeconds } : {}),
            ...(KeepNewest ? { KeepNewest } : {}),
          }),
        ]),
    );
    let expiring = 0;
    fc.assert(
      fc.property(repositoryArb, rulesArb, fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 14, maxLength: 14 }), (manifests, rules, owners) => {
        // Each manifest is a head, or joins the image of an earlier head (its tags go to that image).
        const heads = new Map<string, TopLevelImage>();
        manifests.forEach((manifest, i) => {
          const owner = owners[i];
          const headList = [...heads.values()];
          if (owner <= 1 || headList.length === 0) heads.set(manifest.digest, { ...manifest });
          else {
            const head = headList[owner % headList.length];
            heads.set(head.digest, { ...head, tags: [...new Set([...head.tags, ...manifest.tags])] });
          }
        });
        const expires = evaluateRules([...heads.values()], rules, NOW).images.some((decision) => decision.outcome === 'expire');
        if (expires) expiring++;
        if (expires) expect(mayExpireAny(rules, manifests, NOW)).toBe(true);
        // Standalone manifests are one grouping: when mayExpireAny is false, they expire nothing either.
        if (!mayExpireAny(rules, manifests, NOW)) expect(expiredBy(evaluateRules(manifests, rules, NOW)).size).toBe(0);
      }),
      { numRuns: 2000 },
    );
    expect(expiring).toBeGreaterThan(100);
  });
});

describe('select.ts decides every selection through this engine', () => {
  test('a lifecycle policy deletes what the engine expires, each image by digest, with the rule that expires it', () => {
    const listing: ListedImage[] = [
      { digest: d(1), tags: [], pushedAt: NOW - 90 * DAY, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
      { digest: d(2), tags: ['v1'], pushedAt: NOW - 90 * DAY, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
    ];
    const text = JSON.stringify({
      rules: [
        policyRule(1, { tagStatus: 'tagged', tagPatternList: ['v*'], countType: 'imageCountMoreThan', countNumber: 1 }),
        policyRule(2, { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
      ],
    });
    const manifests = new Map<string, ManifestRead>([[d(1), { references: [] }]]);
    const result = selectImages(listing, { Match: 'lifecycle', LifecyclePolicyText: text }, NOW, manifests);
    // v1 is the newest v* image: rule 1 keeps it, and rule 2 may not expire what rule 1 selected.
    expect(result.passes.flat()).toEqual([{ imageDigest: d(1) }]);
    expect(result.expiredBy).toEqual(new Map([[d(1), 2]]));
    expect(result.rules.map(({ priority, expired, keptNewest }) => ({ priority, expired, keptNewest }))).toEqual([
      { priority: 1, expired: 0, keptNewest: 1 },
      { priority: 2, expired: 1, keptNewest: 0 },
    ]);
  });

  test('on single-platform repositories, select.ts deletes what the reference evaluator expires, by the same rule', () => {
    fc.assert(
      fc.property(repositoryArb, policyArb, (images, policy) => {
        const listing: ListedImage[] = images.map((image) => ({ ...image, mediaType: 'application/vnd.oci.image.manifest.v1+json' }));
        const selection: WireSelection = { Match: 'lifecycle', LifecyclePolicyText: JSON.stringify(policy) };
        const manifests = new Map<string, ManifestRead>();
        let result = selectImages(listing, selection, NOW, manifests);
        while (result.needs.length > 0) {
          for (const digest of result.needs) manifests.set(digest, { references: [] });
          result = selectImages(listing, selection, NOW, manifests);
        }
        const expected = referenceExpirations(policy, images, NOW);
        expect(result.expiredBy).toEqual(expected);
        expect(sortedIds(result.passes.flat())).toEqual(sortedIds([...expected.keys()].map((imageDigest) => ({ imageDigest }))));
        // The per-rule counts are the reference's, rule by rule.
        for (const rule of result.rules) expect(rule.expired).toBe([...expected.values()].filter((p) => p === rule.priority).length);
      }),
      { numRuns: 1500 },
    );
  });
});
