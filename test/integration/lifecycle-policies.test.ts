/**
 * Lifecycle policies through the shipped handler bundle on the local ECR
 * Public, with push times seeded:
 *
 * - AWS's worked examples ("Examples of lifecycle policies in Amazon ECR",
 *   test/support/lifecycle-examples.ts) give their documented outcomes: the
 *   images that go, the rule that expires each (the log line), the count per
 *   rule (RuleCounts, and the reason), a dry run that says the same and
 *   deletes nothing;
 * - on random single-platform repositories and random policies, the handler
 *   deletes what the reference evaluator (test/support/lifecycle-reference.ts)
 *   expires, each image by the same rule;
 * - on multi-architecture images, an index and what it references count as
 *   one image, and go or stay whole.
 *
 * Each image is seeded one minute younger than its age: the handler evaluates
 * the policy a few seconds after the seeding, and an image pushed exactly N
 * days before the evaluation (not older than N days) must not have become
 * older by then.
 */
import * as fc from 'fast-check';
import type { LifecyclePolicyDocument } from '../../lib/contract';
import { lifecyclePolicyProblems } from '../../lib/validation';
import { SeedImage, buildxIndex, cosignSignature, singleImage } from '../../local/ecr-public';
import { logLineOf } from '../../example/log-line-of';
import { selectionProperties } from '../support/cfn-events';
import { InvocationResult, LocalCustomResource } from '../support/local-cloudformation';
import { DAY, LIFECYCLE_EXAMPLES, LifecycleExample } from '../support/lifecycle-examples';
import { referenceExpirations } from '../support/lifecycle-reference';
import { useLocalRig } from '../support/local-rig';

jest.setTimeout(120_000);
const MINUTE = 60_000;

describe('lifecycle policies through the shipped handler on the local ECR Public', () => {
  const rig = useLocalRig();
  let count = 0;

  /** A repository of these images, pushed at these times. */
  function repository(images: readonly SeedImage[]): string {
    const name = `lifecycle/repo-${++count}`;
    rig().emulator.createRepository(name);
    rig().emulator.seed(name, images);
    return name;
  }
  const digestsLeft = (name: string) =>
    new Set(
      rig()
        .emulator.images(name)
        .map((image) => image.digest),
    );
  const run = (name: string, policy: object, extra: object = {}): Promise<InvocationResult> =>
    new LocalCustomResource(rig().server, { env: rig().env }).create(
      selectionProperties(name, { Match: 'lifecycle', LifecyclePolicyText: JSON.stringify(policy) }, extra),
    );
  /** Digest -> the rule the log line gives each deleted image ID. */
  const rulesLogged = (result: InvocationResult) =>
    new Map((logLineOf(result.stdout)?.line.deletedImageIds ?? []).map((id) => [id.imageDigest as string, id.rule]));
  /** The RuleCounts a run should answer: every rule of the policy, by priority, with the images it expired. */
  const ruleCounts = (policy: { rules: readonly object[] }, expired: ReadonlyMap<string, number>) =>
    Object.fromEntries(
      (policy.rules as Array<{ rulePriority: number }>)
        .map((rule) => rule.rulePriority)
        .sort((a, b) => a - b)
        .map((priority) => [String(priority), [...expired.values()].filter((p) => p === priority).length]),
    );
  /** What the reference evaluator expires on the repository as the local ECR Public lists it now. */
  function reference(name: string, policy: object): Map<string, number> {
    const listed = rig()
      .emulator.images(name)
      .map((image) => ({ digest: image.digest, tags: image.tags, pushedAt: image.pushedAt }));
    return referenceExpirations(policy as LifecyclePolicyDocument, listed, Date.now());
  }

  describe("AWS's examples give their documented outcomes", () => {
    test.each(LIFECYCLE_EXAMPLES.map((example) => [example.title, example] as const))('%s', async (_title, example: LifecycleExample) => {
      const now = Date.now();
      const seeded = example.images.map((image) => ({
        name: image.name,
        // The page's tag "git hash" stands for a commit's hash: a registry's tag has no space.
        image: singleImage(`example-${count}-${image.name}`, {
          tags: image.tags.map((tag) => tag.replace(' ', '-')),
          pushedAt: now - image.ageMs + MINUTE,
        }),
      }));
      const name = repository(seeded.map(({ image }) => image));
      const digestOf = (letter: string) => seeded.find((s) => s.name === letter)!.image.digest;
      const nameOf = (digest: string) => seeded.find((s) => s.image.digest === digest)!.name;
      const byName = (expired: ReadonlyMap<string, number>) => Object.fromEntries([...expired].map(([digest, rule]) => [nameOf(digest), rule]));

      // The reference evaluator agrees on the repository as listed (for a tie in push time, with its real digests).
      const referenced = reference(name, example.policy);
      if (!example.dependsOnDigests) expect(byName(referenced)).toEqual(example.expected);
      const expected = example.dependsOnDigests
        ? referenced
        : new Map(Object.entries(example.expected).map(([letter, rule]) => [digestOf(letter), rule]));

      // The dry run: what would go, each with its rule, and the count per rule; nothing deleted.
      const dry = await run(name, example.policy, { DryRun: 'true' });
      expect(dry.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DryRun: 'true', DeletedCount: String(expected.size) } });
      expect(JSON.parse(dry.response!.body.Data!.RuleCounts)).toEqual(ruleCounts(example.policy, expected));
      expect(rulesLogged(dry)).toEqual(expected);
      expect(digestsLeft(name).size).toBe(example.images.length);

      // The real run deletes exactly that, and says the same (DeletedCount counts the IDs ECR Public reports: one per tag).
      const real = await run(name, example.policy);
      expect(real.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0' } });
      expect(JSON.parse(real.response!.body.Data!.RuleCounts)).toEqual(ruleCounts(example.policy, expected));
      expect(rulesLogged(real)).toEqual(expected);
      expect([...digestsLeft(name)].sort()).toEqual(
        seeded
          .map(({ image }) => image.digest)
          .filter((digest) => !expected.has(digest))
          .sort(),
      );
      const perRule = [...new Set(expected.values())]
        .sort((a, b) => a - b)
        .map((rule) => `rule ${rule}: ${[...expected.values()].filter((p) => p === rule).length}`);
      expect(real.response?.body.Reason).toContain(`images expired per rule: ${perRule.join(', ') || 'none'}`);
    });
  });

  describe('random single-platform repositories and policies: the handler deletes what the reference evaluator expires', () => {
    const TAGS = ['prod-1', 'prod-2', 'production', 'beta-1', 'beta-2', 'alpha-1', 'latest', 'v1.0', 'v1.1', 'release', 'PROD-3'];
    const countArb = fc.oneof(
      fc.integer({ min: 1, max: 4 }).map((countNumber) => ({ countType: 'imageCountMoreThan', countNumber })),
      fc.integer({ min: 1, max: 10 }).map((countNumber) => ({ countType: 'sinceImagePushed', countUnit: 'days', countNumber })),
    );
    const taggedArb = fc.oneof(
      fc
        .uniqueArray(fc.constantFrom('prod', 'beta', 'alpha', 'v1', 're', 'l'), { minLength: 1, maxLength: 2 })
        .map((tagPrefixList) => ({ tagPrefixList })),
      fc
        .uniqueArray(fc.constantFrom('prod*', '*-1', 'beta*', '*a*', 'v1.*', '*', 'release', 'PROD*'), { minLength: 1, maxLength: 2 })
        .map((tagPatternList) => ({ tagPatternList })),
    );
    const policyArb = fc
      .record({
        tagged: fc.array(fc.tuple(taggedArb, countArb), { maxLength: 3 }),
        untagged: fc.option(countArb, { nil: undefined }),
        any: fc.option(countArb, { nil: undefined }),
        priorities: fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 5, maxLength: 5 }),
      })
      .map(({ tagged, untagged, any, priorities }) => {
        const sorted = [...priorities].sort((a, b) => a - b);
        const selections = [
          ...tagged.map(([tags, c]) => ({ tagStatus: 'tagged', ...tags, ...c })),
          ...(untagged ? [{ tagStatus: 'untagged', ...untagged }] : []),
        ];
        const rules = selections.map((selection, i) => ({ rulePriority: sorted[i], selection, action: { type: 'expire' } }));
        if (any) rules.push({ rulePriority: sorted[4], selection: { tagStatus: 'any', ...any }, action: { type: 'expire' } });
        return { rules: rules.reverse() };
      })
      .filter((policy) => policy.rules.length > 0 && lifecyclePolicyProblems(policy as unknown as LifecyclePolicyDocument).length === 0);
    // Ages a few hours from any whole day (a rule's boundary), some pushed at the same instant (a tie, decided by digest).
    const repositoryArb = fc.array(
      fc.record({
        tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 3 }),
        days: fc.integer({ min: 0, max: 12 }),
        offset: fc.constantFrom(-3, 3, 5),
      }),
      { minLength: 1, maxLength: 10 },
    );

    test('the same images, by the same rules, and the same count per rule', async () => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(repositoryArb, policyArb, async (units, policy) => {
          runs++;
          const now = Date.now();
          const taken = new Set<string>();
          const images = units
            .map((unit, i) => {
              // A tag names one image: the later image of the list takes it, as a push does.
              const tags = unit.tags.filter((tag) => !taken.has(tag));
              tags.forEach((tag) => taken.add(tag));
              return singleImage(`random-${count}-${i}`, { tags, pushedAt: now - unit.days * DAY - unit.offset * 3_600_000 });
            })
            .reverse();
          const name = repository(images);
          const expected = reference(name, policy);
          const dry = await run(name, policy, { DryRun: 'true' });
          expect(rulesLogged(dry)).toEqual(expected);
          const real = await run(name, policy);
          expect(real.response?.body.Status).toBe('SUCCESS');
          expect(rulesLogged(real)).toEqual(expected);
          expect(JSON.parse(real.response!.body.Data!.RuleCounts)).toEqual(ruleCounts(policy, expected));
          expect([...digestsLeft(name)].sort()).toEqual(
            images
              .map((image) => image.digest)
              .filter((digest) => !expected.has(digest))
              .sort(),
          );
        }),
        { numRuns: 30 },
      );
      expect(runs).toBe(30);
    });
  });

  describe('multi-architecture images: an index and what it references count as one image', () => {
    // Random repositories of buildx pushes (some with a per-architecture tag), plain images and cosign signatures
    // (OCI 1.1 referrers), under random policies, through the shipped bundle: what the engine's property tests
    // (test/unit/multiarch-selection.test.ts) check in process, checked once more on what ships.
    const TAGS = ['v1', 'v2', 'v3', 'pr-1', 'pr-2', 'latest', 'main'];
    const countArb = fc.oneof(
      fc.integer({ min: 1, max: 3 }).map((countNumber) => ({ countType: 'imageCountMoreThan', countNumber })),
      fc.integer({ min: 1, max: 8 }).map((countNumber) => ({ countType: 'sinceImagePushed', countUnit: 'days', countNumber })),
    );
    const policyArb = fc
      .record({
        tagged: fc.option(fc.tuple(fc.constantFrom(['v*'], ['pr-*'], ['*-arm64'], ['*']), countArb), { nil: undefined }),
        untagged: fc.option(countArb, { nil: undefined }),
        any: fc.option(countArb, { nil: undefined }),
      })
      .map(({ tagged, untagged, any }) => ({
        rules: [
          ...(tagged
            ? [{ rulePriority: 1, selection: { tagStatus: 'tagged', tagPatternList: tagged[0], ...tagged[1] }, action: { type: 'expire' } }]
            : []),
          ...(untagged ? [{ rulePriority: 2, selection: { tagStatus: 'untagged', ...untagged }, action: { type: 'expire' } }] : []),
          ...(any ? [{ rulePriority: 3, selection: { tagStatus: 'any', ...any }, action: { type: 'expire' } }] : []),
        ],
      }))
      .filter((policy) => policy.rules.length > 0 && lifecyclePolicyProblems(policy as unknown as LifecyclePolicyDocument).length === 0);
    const unitsArb = fc.array(
      fc.record({
        kind: fc.constantFrom<'buildx' | 'plain'>('buildx', 'buildx', 'plain'),
        tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 2 }),
        armTag: fc.boolean(),
        signed: fc.boolean(),
        days: fc.integer({ min: 0, max: 10 }),
        offset: fc.constantFrom(-3, 3, 5),
      }),
      { minLength: 1, maxLength: 6 },
    );

    test('random repositories and policies: the dry run lists what the real run deletes, and no kept index or signature loses what it needs', async () => {
      let runs = 0;
      let expiring = 0;
      await fc.assert(
        fc.asyncProperty(unitsArb, policyArb, async (units, policy) => {
          runs++;
          const now = Date.now();
          const taken = new Set<string>();
          // Each push: an index with its platform images and attestations, or a plain image; a signature apart.
          const pushes: Array<readonly SeedImage[]> = [];
          const signatures: SeedImage[] = [];
          units.forEach((unit, i) => {
            const tags = unit.tags.filter((tag) => !taken.has(tag));
            tags.forEach((tag) => taken.add(tag));
            const seed = `mixed-${count}-${i}`;
            const pushedAt = now - unit.days * DAY - unit.offset * 3_600_000;
            const armTag = unit.armTag ? `${seed}-arm64` : undefined;
            const push =
              unit.kind === 'buildx'
                ? buildxIndex(seed, { tags, pushedAt, platformTags: (p) => (armTag && p.startsWith('linux/arm64') ? [armTag] : []) }).images
                : [singleImage(seed, { tags, pushedAt })];
            pushes.push(push);
            if (unit.signed) signatures.push(cosignSignature(push[push.length - 1], { pushedAt: pushedAt + 1000 }));
          });
          const images = [...pushes.flat(), ...signatures];
          const name = repository(images);
          const before = rig().emulator.images(name);
          const ids = (result: InvocationResult) =>
            [...new Set((logLineOf(result.stdout)?.line.deletedImageIds ?? []).map((id) => `${id.imageDigest} by rule ${id.rule}`))].sort();

          const dry = await run(name, policy, { DryRun: 'true' });
          expect(dry.response?.body.Status).toBe('SUCCESS');
          expect(rig().emulator.images(name)).toHaveLength(before.length);
          const real = await run(name, policy);
          expect(real.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0', KeptUnknownCount: '0' } });
          // Dry run = real run: the same manifests, each by the same rule, and the same count per rule. (The real run logs
          // the IDs ECR Public answers, one per tag of a manifest deleted by digest; the dry run those it would send.)
          expect(ids(dry)).toEqual(ids(real));
          expect(dry.response?.body.Data?.RuleCounts).toBe(real.response?.body.Data?.RuleCounts);
          // What goes is what the reference evaluator expires on the images as users see them (each push: its last
          // manifest's digest and push time, the tags of all its manifests), each manifest of a push by its image's rule,
          // and a signature with its image when a rule may select untagged images (the handler reads them then).
          const expected = referenceExpirations(
            policy as unknown as LifecyclePolicyDocument,
            pushes.map((push) => ({
              digest: push[push.length - 1].digest,
              tags: push.flatMap((image) => image.tags),
              pushedAt: push[push.length - 1].pushedAt!,
            })),
            Date.now(),
          );
          const readsReferrers = policy.rules.some((rule) => rule.selection.tagStatus !== 'tagged');
          const expectedRules = new Map<string, number>();
          for (const push of pushes) {
            const rule = expected.get(push[push.length - 1].digest);
            if (rule === undefined) continue;
            for (const image of push) expectedRules.set(image.digest, rule);
            for (const signature of signatures)
              if (readsReferrers && JSON.parse(signature.manifest).subject?.digest === push[push.length - 1].digest)
                expectedRules.set(signature.digest, rule);
          }
          expect(rulesLogged(real)).toEqual(expectedRules);
          if (expectedRules.size > 0) expiring++;

          // Zero kept references broken: every remaining index has all it listed, every remaining image its signatures.
          const after = rig().emulator.images(name);
          const left = new Set(after.map((image) => image.digest));
          for (const index of after) for (const child of index.references) expect([index.digest, left.has(child)]).toEqual([index.digest, true]);
          for (const signature of before.filter((image) => image.subject !== undefined && left.has(image.subject))) {
            expect([signature.digest, left.has(signature.digest)]).toEqual([signature.digest, true]);
          }
          // An image goes or stays whole: each push is all there or all gone (a policy expires images, never tags alone).
          for (const push of pushes) expect(new Set(push.map((image) => left.has(image.digest))).size).toBe(1);
        }),
        { numRuns: 12 },
      );
      expect(runs).toBe(12);
      // Not vacuous: some runs expire something.
      expect(expiring).toBeGreaterThan(2);
    });

    test('keep the 2 newest releases, expire untagged images after a day: each buildx push goes or stays whole', async () => {
      const now = Date.now();
      const releases = [1, 2, 3].map((n) => buildxIndex(`lc-release-${count}-${n}`, { tags: [`v${n}`], pushedAt: now - (10 - n) * DAY }));
      const orphan = buildxIndex(`lc-orphan-${count}`, { pushedAt: now - 5 * DAY });
      const name = repository([...releases, orphan].flatMap((push) => push.images));
      const policy = {
        rules: [
          {
            rulePriority: 1,
            selection: { tagStatus: 'tagged', tagPatternList: ['v*'], countType: 'imageCountMoreThan', countNumber: 2 },
            action: { type: 'expire' },
          },
          {
            rulePriority: 2,
            selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 },
            action: { type: 'expire' },
          },
        ],
      };
      const result = await run(name, policy);
      // Two images expire (v1, by rule 1; the untagged push, by rule 2), each with its 4 platform images and attestations.
      expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0', RuleCounts: '{"1":1,"2":1}' } });
      expect([...digestsLeft(name)].sort()).toEqual([...releases[1].images, ...releases[2].images].map((image) => image.digest).sort());
      const logged = rulesLogged(result);
      for (const image of releases[0].images) expect(logged.get(image.digest)).toBe(1);
      for (const image of orphan.images) expect(logged.get(image.digest)).toBe(2);
      // The log line says why the others stay: the two newest v* images, each manifest with the image it is part of.
      const kept = logLineOf(result.stdout)?.line.keptImages ?? [];
      expect(kept.filter((image) => image.reason === 'newest')).toHaveLength(10);
      expect(kept.every((image) => image.rule === 1)).toBe(true);
    });
  });
});
