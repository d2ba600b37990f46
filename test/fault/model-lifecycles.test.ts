/**
 * Model-based lifecycles: random repositories, random declarations and random
 * CloudFormation event sequences, run through the shipped bundle against the
 * local ECR Public (the emulator) and, side by side, against the reference model (test/support/ecr-model.ts
 * and custom-resource-model.ts). After every event the registry must equal the
 * model, and nothing that no event declared may be gone.
 *
 * tag+digest pairs are declared too: the emulator removes the one tag after
 * checking it points at the digest, as the model does (see ecr-model.ts; moto
 * 5.2 deletes the whole image instead, which test/emulator/cross-check-moto.test.ts
 * names). They are also covered against the model, with the handler in
 * process, at the end of this file.
 *
 * The declarations include selections (allImages, untaggedImages, tagsMatching,
 * with protected tags), and the lifecycles end the ways an emptier's life can
 * end: the stack deleted, the deletion removed or renamed while the repository
 * stays, the repository removed with it, a rollback removing it. A local
 * CloudFormation answers the handler's stack-state calls with the status of
 * the moment; a failed Update's rollback runs in UPDATE_ROLLBACK_IN_PROGRESS
 * and may itself meet a refusal, which must not fail it.
 *
 * Set FC_SEED (and FC_PATH) to replay a run; FC_SHRINK=1 to shrink a failure
 * (slow: every shrink step runs the bundle again).
 *
 * @jest-environment ./test/support/failure-aware-environment.ts
 */
import { BatchDeleteImageCommand } from '@aws-sdk/client-ecr-public';
import * as fc from 'fast-check';
import { handler } from '../../lambda/index';
import { singleImage } from '../../local/ecr-public';
import { CfnEvents } from '../support/cfn-events';
import { applyEvent } from '../support/custom-resource-model';
import { EcrPublicModel, ModelImageId, undeclaredLosses } from '../support/ecr-model';
import { useEmulatorForHandler } from '../support/in-process-emulator';
import { ResponseServer } from '../support/local-cloudformation';
import { createRepository, listImages, seedImage } from '../support/local-ecr-public';
import { useLocalRig } from '../support/local-rig';
import { mockStackState } from '../support/stack-state-mock';
import {
  EVENTS,
  SequenceSpec,
  declarationArb,
  idKey,
  propsArb,
  repositoryArb,
  resolve,
  sequenceArb,
  sortedKeys,
  toProperties,
} from './lifecycle-arbitraries';
import { SequenceRun, figures } from './lifecycle-runner';

/** Sequences run against the emulator per `npx jest`; each is one to two resource lifecycles. */
const SEQUENCES = Number(process.env.FC_RUNS ?? 40);
function fcOptions<T>(numRuns: number): fc.Parameters<T> {
  return {
    numRuns,
    endOnFailure: process.env.FC_SHRINK !== '1',
    ...(process.env.FC_SEED !== undefined ? { seed: Number(process.env.FC_SEED) } : {}),
    ...(process.env.FC_PATH !== undefined ? { path: process.env.FC_PATH } : {}),
  };
}

// ---------------------------------------------------------------------------
// The reference model itself, on the documented cases
// ---------------------------------------------------------------------------

describe('the reference model', () => {
  const D1 = `sha256:${'1'.repeat(64)}`;
  const D2 = `sha256:${'2'.repeat(64)}`;
  const registry = () => {
    const model = new EcrPublicModel();
    model.createRepository('r');
    model.putImage('r', D1, 'v1');
    model.putImage('r', D1, 'stable');
    model.putImage('r', D2, 'v2');
    return model;
  };

  test('deleting one of two tags keeps the image under the other', () => {
    const model = registry();
    expect(model.batchDeleteImage('r', [{ imageTag: 'v1' }])).toEqual({ imageIds: [{ imageDigest: D1, imageTag: 'v1' }], failures: [] });
    expect(model.snapshot('r')).toEqual(
      new Map([
        [D1, ['stable']],
        [D2, ['v2']],
      ]),
    );
  });

  test('deleting the last tag deletes the image; a digest deletes the image with every tag', () => {
    const model = registry();
    model.batchDeleteImage('r', [{ imageTag: 'v2' }, { imageDigest: D1 }]);
    expect(model.snapshot('r')).toEqual(new Map());
  });

  test('what does not exist is ImageNotFound and changes nothing', () => {
    const model = registry();
    const answer = model.batchDeleteImage('r', [{ imageTag: 'nope' }, { imageDigest: `sha256:${'9'.repeat(64)}` }]);
    expect(answer.failures.map((f) => f.failureCode)).toEqual(['ImageNotFound', 'ImageNotFound']);
    expect(model.snapshot('r')).toEqual(registry().snapshot('r'));
  });

  test('a tag with its own digest removes the tag only; with another digest, nothing', () => {
    const model = registry();
    expect(model.batchDeleteImage('r', [{ imageTag: 'v1', imageDigest: D2 }]).failures[0].failureCode).toBe('ImageTagDoesNotMatchDigest');
    expect(model.snapshot('r')).toEqual(registry().snapshot('r'));
    model.batchDeleteImage('r', [{ imageTag: 'v1', imageDigest: D1 }]);
    expect(model.snapshot('r')).toEqual(
      new Map([
        [D1, ['stable']],
        [D2, ['v2']],
      ]),
    );
  });

  test('the loss check flags an undeclared tag or image, and accepts declared ones', () => {
    const before = registry().snapshot('r');
    const tagGone = new Map([
      [D1, ['stable']],
      [D2, ['v2']],
    ]);
    const imageGone = new Map([[D2, ['v2']]]);
    expect(undeclaredLosses(before, tagGone, [{ imageTag: 'v2' }])).toHaveLength(1);
    expect(undeclaredLosses(before, tagGone, [{ imageTag: 'v1' }])).toEqual([]);
    expect(undeclaredLosses(before, imageGone, [{ imageTag: 'v1' }])).toHaveLength(1);
    expect(undeclaredLosses(before, imageGone, [{ imageTag: 'v1', imageDigest: D1 }])).toHaveLength(1);
    expect(undeclaredLosses(before, imageGone, [{ imageTag: 'v1' }, { imageTag: 'stable' }])).toEqual([]);
    expect(undeclaredLosses(before, imageGone, [{ imageDigest: D1 }])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Against the local ECR Public, through the shipped bundle
// ---------------------------------------------------------------------------

describe('random lifecycles through the shipped bundle: the local ECR Public equals the model after every event', () => {
  // No faults: the emulator records every request the handler makes.
  const rig = useLocalRig();
  let repoCount = 0;

  /** Runs one sequence; throws (an expect failure) at the first divergence. */
  const runSequence = (spec: SequenceSpec) => new SequenceRun(rig(), `model/seq-${++repoCount}`).run(spec);

  test(
    `${SEQUENCES} random sequences of Create, Update, Delete, retries and failed Creates`,
    async () => {
      await fc.assert(fc.asyncProperty(sequenceArb, runSequence), fcOptions(SEQUENCES));
      expect(figures.sequences).toBeGreaterThanOrEqual(SEQUENCES);
      expect(figures.undeclaredLosses).toBe(0);
    },
    Math.max(170_000, SEQUENCES * 5_000),
  );

  // Seeds of failures found while writing these tests, kept as regressions.
  const REGRESSIONS: Array<{ seed: number; path: string; what: string }> = [
    {
      seed: -1699831771,
      path: '33',
      what: 'a refused rollback succeeds, and the cut of its long reason keeps the record of what was deleted (it came last, and was cut)',
    },
    {
      seed: 467506199,
      path: '31',
      what: "a refused rollback's AccessDenied reason may be cut before the repository ARN ends (the model expected the whole name)",
    },
    {
      seed: 80766550,
      path: '18',
      what: 'an Update that points an emptier at another repository answers a new physical ID (the model expected the same one), and the rollback of such an Update that failed keeps the ID it was given',
    },
    {
      seed: 170423853,
      path: '37',
      what: 'a tag removed from an image that keeps other tags goes by name alone (the model expected a tag+digest pair)',
    },
    {
      seed: 1433746525,
      path: '17',
      what: "an emptier's Delete in a rollback's cleanup, for a repository that stays, runs no selection (the local stack listed the repository under another name than the properties carried: a replacement the sequence never made)",
    },
  ];
  for (const { seed, path, what } of REGRESSIONS) {
    test(`regression: ${what}`, async () => {
      await fc.assert(fc.asyncProperty(sequenceArb, runSequence), { seed, path, numRuns: 1, endOnFailure: true });
    });
  }

  // The shape of seed 1433746525/17 without its middle steps: an emptier of a repository of the stack that does not
  // exist (deleted out of band), whose Delete comes in a cleanup that keeps the repository in the template.
  test.each(['removed', 'rolledBack'] as const)(
    'an emptier of a missing repository, removed in a cleanup (%s) that keeps the repository: no selection, nothing asked of ECR Public',
    async (end) => {
      await runSequence({
        repository: { tagCounts: [1, 2], tagOrder: ['v1', 'pr-1', 'latest'] },
        lifecycles: [
          {
            create: { decl: [], deleteOn: ['Delete'], failOnImageFailure: true, withRegistryId: false, select: { Match: 'all' }, nameOnly: false },
            createFailure: 'missingRepository',
            retryCreate: false,
            middle: [],
            end,
          },
        ],
      });
    },
  );

  test('the model answers BatchDeleteImage as the emulator does, for tags, digests, tag+digest pairs, missing IDs and repeats', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(repositoryArb, fc.array(declarationArb(true), { minLength: 1, maxLength: 3 }), async (repository, batches) => {
        figures.batchRuns++;
        const repo = `model/batch-${++n}`;
        const model = new EcrPublicModel();
        await createRepository(rig().client, repo);
        model.createRepository(repo);
        const digests: string[] = [];
        let next = 0;
        for (const count of repository.tagCounts) {
          const tags = repository.tagOrder.slice(next, next + count);
          next += count;
          const digest = await seedImage(rig().client, repo, `${repo}#${digests.length}`, tags);
          digests.push(digest);
          for (const tag of tags) model.putImage(repo, digest, tag);
        }
        for (const batch of batches) {
          const imageIds = resolve(batch, digests);
          const answer = await rig().client.send(new BatchDeleteImageCommand({ repositoryName: repo, imageIds }));
          const expected = model.batchDeleteImage(repo, imageIds);
          expect(sortedKeys(answer.imageIds ?? [])).toEqual(sortedKeys(expected.imageIds));
          expect((answer.failures ?? []).map((f) => `${f.failureCode} ${idKey(f.imageId ?? {})}`).sort()).toEqual(
            expected.failures.map((f) => `${f.failureCode} ${idKey(f.imageId)}`).sort(),
          );
          expect(await listImages(rig().client, repo)).toEqual(model.snapshot(repo));
        }
      }),
      fcOptions(40),
    );
  }, 60_000);

  test('a tag+digest pair removes that one tag, as ECR Public documents (moto 5.2 deleted the whole image here)', async () => {
    const repo = 'model/pair-deviation';
    await createRepository(rig().client, repo);
    const digest = await seedImage(rig().client, repo, repo, ['v1', 'stable']);
    await rig().client.send(new BatchDeleteImageCommand({ repositoryName: repo, imageIds: [{ imageTag: 'v1', imageDigest: digest }] }));
    const model = new EcrPublicModel();
    model.createRepository(repo);
    for (const tag of ['v1', 'stable']) model.putImage(repo, digest, tag);
    model.batchDeleteImage(repo, [{ imageTag: 'v1', imageDigest: digest }]);
    expect(model.snapshot(repo)).toEqual(new Map([[digest, ['stable']]]));
    expect(await listImages(rig().client, repo)).toEqual(model.snapshot(repo));
  });
});

// ---------------------------------------------------------------------------
// tag+digest pairs: the handler in process against the emulator, checked against the model
// ---------------------------------------------------------------------------

describe('random declarations with tag+digest pairs: the handler in process, the emulator against the model', () => {
  const local = useEmulatorForHandler();
  let server: ResponseServer;
  let cfn: ReturnType<typeof mockStackState>;
  beforeAll(async () => {
    // A failed event asks whether the stack is rolling back: it is not.
    cfn = mockStackState('UPDATE_IN_PROGRESS');
    server = await ResponseServer.start();
  });
  afterAll(async () => {
    cfn.restore();
    await server.close();
  });

  test('verdicts, attributes and the registry follow the model; nothing undeclared goes', async () => {
    const property = fc.asyncProperty(repositoryArb, propsArb(true), fc.constantFrom(...EVENTS), async (repository, spec, requestType) => {
      figures.modelRuns++;
      const repo = 'model/in-process';
      // The emulator answers the handler's calls; `oracle` says what must happen.
      const { emulator } = local;
      emulator.store.repositories.clear();
      emulator.resetStats();
      const oracle = new EcrPublicModel();
      oracle.createRepository(repo);
      const digests: string[] = [];
      let next = 0;
      repository.tagCounts.forEach((count, index) => {
        const tags = repository.tagOrder.slice(next, next + count);
        const [digest] = emulator.seed(repo, [singleImage(`in-process-${index}`, { tags })]);
        digests.push(digest);
        for (const tag of tags) oracle.putImage(repo, digest, tag);
        next += count;
      });
      const before = emulator.snapshot(repo);
      const props = toProperties(spec, repo, digests);
      const events = new CfnEvents(server);
      const physicalId = 'EcrPublicImageDeletion-ImageDeletion-earlier';
      const event =
        requestType === 'Create'
          ? events.create(props)
          : requestType === 'Update'
            ? events.update(physicalId, props, props)
            : events.delete(physicalId, props);
      const expected = applyEvent(oracle, { requestType, properties: props, physicalResourceId: physicalId });

      const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        await handler(event, { getRemainingTimeInMillis: () => 60_000 });
      } finally {
        log.mockRestore();
      }
      const body = (await server.responseTo(event.RequestId)).body;
      expect(body.Status).toBe(expected.status);
      expect(body.PhysicalResourceId).toBe(
        expected.physicalResourceId === 'new' ? `EcrPublicImageDeletion-ImageDeletion-${event.RequestId}` : expected.physicalResourceId,
      );
      const sent = local.calls('BatchDeleteImage').flatMap((input: Record<string, unknown>) => input.imageIds as ModelImageId[]);
      expect(sortedKeys(sent)).toEqual(sortedKeys(expected.sent));
      if (expected.status === 'FAILED') {
        // The only failure a valid declaration can meet here: a tag that points at another image.
        expect(body.Reason).toContain('ImageTagDoesNotMatchDigest');
      } else if (expected.answer) {
        expect(body.Data).toMatchObject({
          DeletedCount: String(expected.answer.imageIds.length),
          FailureCount: String(expected.answer.failures.length),
          DeletionRan: 'true',
        });
      }
      expect(emulator.snapshot(repo)).toEqual(oracle.snapshot(repo));
      const losses = undeclaredLosses(before, emulator.snapshot(repo), expected.calls ? expected.sent : []);
      figures.undeclaredLosses += losses.length;
      expect(losses).toEqual([]);
    });
    await fc.assert(property, fcOptions(200));
  }, 60_000);
});
