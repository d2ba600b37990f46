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
import { createHash } from 'node:crypto';
import { BatchDeleteImageCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import * as fc from 'fast-check';
import { handler } from '../../lambda/index';
import { CfnEvents, STACK_ID } from '../support/cfn-events';
import {
  CREATE_FAILED_ID,
  ModelEvent,
  ModelOutcome,
  ModelProperties,
  ModelSelection,
  RequestType,
  applyEvent,
  deletesRepository,
  expectedReason,
} from '../support/custom-resource-model';
import { EcrPublicModel, ModelImageId, RegistrySnapshot, undeclaredLosses } from '../support/ecr-model';
import { FaultInjector, singleImage } from '../../local/ecr-public';
import { useEmulatorForHandler } from '../support/in-process-emulator';
import { printFiguresOnFailure } from '../support/figures';
import { LocalStackState, RESPONSE_URL_SECRET, ResponseServer, invokeHandler } from '../support/local-cloudformation';
import { createRepository, listImages, seedImage } from '../support/local-ecr-public';
import { LocalRig, startLocalRig } from '../support/local-rig';
import { mockStackState } from '../support/stack-state-mock';

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
// Generators
// ---------------------------------------------------------------------------

/** Tags images may carry; with at most 15 in use, some are always absent (declared tags that do not exist). */
const TAG_POOL = [
  'latest',
  'stable',
  'v1',
  'v2',
  'v3',
  'pr-1',
  'pr-2',
  'pr-3',
  'dev',
  'edge',
  'rc',
  'nightly',
  'canary',
  'beta',
  'alpha',
  'old',
  'x',
  'y',
];
const EVENTS: readonly RequestType[] = ['Create', 'Update', 'Delete'];

/** A declared image, by reference: resolved to a real tag or digest when the event is sent. */
type DeclRef =
  | { readonly kind: 'tag'; readonly tag: string }
  /** The digest of the image pushed `image`-th in this sequence; past the last one, a digest no image has. */
  | { readonly kind: 'digest'; readonly image: number }
  /** A tag and a digest together (only against the model: see the file comment). */
  | { readonly kind: 'tagAndDigest'; readonly tag: string; readonly image: number };

const tagRef = fc.record({ kind: fc.constant('tag' as const), tag: fc.constantFrom(...TAG_POOL) });
const digestRef = fc.record({ kind: fc.constant('digest' as const), image: fc.nat({ max: 7 }) });
const pairRef = fc.record({ kind: fc.constant('tagAndDigest' as const), tag: fc.constantFrom(...TAG_POOL), image: fc.nat({ max: 7 }) });

/** One to six references; small pools make repeats (exact duplicates) common. */
const declarationArb = (withPairs: boolean) =>
  fc.array(withPairs ? fc.oneof(tagRef, digestRef, pairRef) : fc.oneof(tagRef, digestRef), { minLength: 1, maxLength: 6 });

const deleteOnArb = fc.subarray([...EVENTS], { minLength: 1 });

/** Patterns over TAG_POOL: some match several tags, some one, some none. */
const PATTERNS = ['pr-*', 'v?', '*a*', 'x', 'n*y', 'zz*'];
const PROTECT = ['v*', 'latest', 'st*', 'e?ge'];
const protectArb = fc.option(fc.subarray(PROTECT, { minLength: 1, maxLength: 2 }), { nil: undefined });
/** A selection as the construct writes it; never one that validation refuses (protectTags on untaggedImages, a pattern also protected). */
const selectionArb: fc.Arbitrary<ModelSelection> = fc.oneof(
  { weight: 3, arbitrary: protectArb.map((ProtectTags): ModelSelection => ({ Match: 'all', ...(ProtectTags ? { ProtectTags } : {}) })) },
  { weight: 1, arbitrary: fc.constant<ModelSelection>({ Match: 'untagged' }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.subarray(PATTERNS, { minLength: 1, maxLength: 2 }), protectArb)
      .map(([TagPatterns, ProtectTags]): ModelSelection => ({ Match: 'tagged', TagPatterns, ...(ProtectTags ? { ProtectTags } : {}) })),
  },
);

interface PropsSpec {
  readonly decl: DeclRef[];
  readonly deleteOn: RequestType[];
  readonly failOnImageFailure: boolean;
  readonly withRegistryId: boolean;
  /** A selection, run after the declared IDs. */
  readonly select?: ModelSelection;
  /** The repository given by name only (no logical ID: emptied only when the stack is deleted). */
  readonly nameOnly?: boolean;
}
const propsArb = (withPairs = false): fc.Arbitrary<PropsSpec> =>
  fc.record({ decl: declarationArb(withPairs), deleteOn: deleteOnArb, failOnImageFailure: fc.boolean(), withRegistryId: fc.boolean() });

/** Declarations with selections too: an emptier (allImages on Delete, nothing declared) one time in three. */
const selectingPropsArb: fc.Arbitrary<PropsSpec> = fc.oneof(
  { weight: 2, arbitrary: propsArb(true) },
  {
    weight: 2,
    arbitrary: fc.record({
      decl: fc.array(fc.oneof(tagRef, digestRef, pairRef), { maxLength: 3 }),
      deleteOn: deleteOnArb,
      failOnImageFailure: fc.boolean(),
      withRegistryId: fc.boolean(),
      select: selectionArb,
      nameOnly: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.boolean().map((nameOnly): PropsSpec => ({
      decl: [],
      deleteOn: ['Delete'],
      failOnImageFailure: true,
      withRegistryId: false,
      select: { Match: 'all' },
      nameOnly,
    })),
  },
);

/** The initial repository: one to five images, each with one to three tags of its own. */
const repositoryArb = fc.record({
  tagCounts: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }),
  tagOrder: fc.shuffledSubarray(TAG_POOL, { minLength: TAG_POOL.length, maxLength: TAG_POOL.length }),
});

type CreateFailure = 'none' | 'accessDenied' | 'missingRepository' | 'invalid' | 'controlCharacter';
type Middle =
  | {
      readonly kind: 'update';
      readonly decl: DeclRef[] | null;
      readonly deleteOn: RequestType[] | null;
      readonly fails: boolean;
      /** The rollback of a failed Update is refused too: it must still succeed. */
      readonly rollbackFails: boolean;
    }
  | { readonly kind: 'retry' }
  | { readonly kind: 'push'; readonly tags: number; readonly pick: number };

const middleArb: fc.Arbitrary<Middle> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      // null keeps the previous value: an Update that changes only the images, or only deleteOn.
      decl: fc.option(declarationArb(true), { nil: null }),
      deleteOn: fc.option(deleteOnArb, { nil: null }),
      // One Update in four is refused (AccessDenied) and rolled back.
      fails: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
      rollbackFails: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'retry' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('push' as const), tags: fc.integer({ min: 1, max: 2 }), pick: fc.nat({ max: 17 }) }) },
);

/**
 * How the resource's life ends, and what the stack is then:
 * - 'delete': the stack is deleted (DELETE_IN_PROGRESS); 'twice': and the Delete is delivered again;
 * - 'removed': an update removes (or renames, or moves) the deletion; the repository stays;
 * - 'repositoryRemoved': an update removes the repository with it;
 * - 'rolledBack': the update that added it fails and its rollback removes it; the repository stays;
 * - 'none': it lives on.
 */
type End = 'delete' | 'twice' | 'removed' | 'repositoryRemoved' | 'rolledBack' | 'none';
const END_STATE: Record<Exclude<End, 'none'>, { readonly stackStatus: string; readonly templateHasRepository: boolean }> = {
  delete: { stackStatus: 'DELETE_IN_PROGRESS', templateHasRepository: true },
  twice: { stackStatus: 'DELETE_IN_PROGRESS', templateHasRepository: true },
  removed: { stackStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateHasRepository: true },
  repositoryRemoved: { stackStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', templateHasRepository: false },
  rolledBack: { stackStatus: 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', templateHasRepository: true },
};

interface LifecycleSpec {
  readonly create: PropsSpec;
  readonly createFailure: CreateFailure;
  readonly retryCreate: boolean;
  readonly middle: Middle[];
  readonly end: End;
}
const lifecycleArb: fc.Arbitrary<LifecycleSpec> = fc.record({
  create: selectingPropsArb,
  createFailure: fc.constantFrom<CreateFailure>(
    'none',
    'none',
    'none',
    'none',
    'none',
    'accessDenied',
    'missingRepository',
    'invalid',
    'controlCharacter',
  ),
  retryCreate: fc.boolean(),
  middle: fc.array(middleArb, { maxLength: 3 }),
  end: fc.constantFrom<End>('delete', 'delete', 'twice', 'removed', 'repositoryRemoved', 'rolledBack', 'none'),
});

const sequenceArb = fc.record({ repository: repositoryArb, lifecycles: fc.array(lifecycleArb, { minLength: 1, maxLength: 2 }) });
type SequenceSpec = typeof sequenceArb extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

const REGISTRY_ID = '123456789012';

function missingDigest(index: number): string {
  return `sha256:${createHash('sha256').update(`no-such-image-${index}`).digest('hex')}`;
}

function resolve(decl: readonly DeclRef[], digests: readonly string[]): ModelImageId[] {
  const digestOf = (image: number) => digests[image] ?? missingDigest(image);
  return decl.map((ref) => {
    if (ref.kind === 'tag') return { imageTag: ref.tag };
    if (ref.kind === 'digest') return { imageDigest: digestOf(ref.image) };
    return { imageTag: ref.tag, imageDigest: digestOf(ref.image) };
  });
}

function toProperties(spec: PropsSpec, repositoryName: string, digests: readonly string[]): ModelProperties {
  return {
    RepositoryName: repositoryName,
    ...(spec.withRegistryId ? { RegistryId: REGISTRY_ID } : {}),
    ...(spec.decl.length > 0 || !spec.select ? { ImageIds: resolve(spec.decl, digests) } : {}),
    ...(spec.select ? { Select: spec.select } : {}),
    // As the construct writes it: the logical ID only for allImages(), and only with the repository construct.
    ...(spec.select?.Match === 'all' && !spec.nameOnly ? { RepositoryLogicalId: 'Repo' } : {}),
    DeleteOn: spec.deleteOn,
    FailOnImageFailure: spec.failOnImageFailure ? 'true' : 'false',
    ApiRegion: 'us-east-1',
  };
}

const idKey = (id: { imageTag?: string; imageDigest?: string }) => `${id.imageTag ?? ''}|${id.imageDigest ?? ''}`;
const sortedKeys = (ids: ReadonlyArray<{ imageTag?: string; imageDigest?: string }>) => ids.map(idKey).sort();

/** Figures for the closing note. */
const figures = {
  sequences: 0,
  events: 0,
  selectionEvents: 0,
  teardownDeletes: 0,
  emptiedByTeardown: 0,
  keptByGuard: 0,
  rollbackEvents: 0,
  rolledBackFailures: 0,
  retries: 0,
  failedCreates: 0,
  failedUpdates: 0,
  pushes: 0,
  undeclaredLosses: 0,
  modelRuns: 0,
  batchRuns: 0,
};

printFiguresOnFailure('model-based lifecycles', () => figures);

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
  let client: ECRPUBLICClient;
  let server: ResponseServer;
  let injector: FaultInjector;
  let stack: LocalStackState;
  let env: Record<string, string>;
  let repoCount = 0;

  let rig: LocalRig | undefined;

  beforeAll(async () => {
    // No faults: the emulator records every request the handler makes.
    rig = await startLocalRig();
    ({ client, server, faults: injector, env, stack } = rig);
  });
  afterAll(async () => {
    await rig?.stop();
  });

  /** Runs one sequence; throws (an expect failure) at the first divergence. */
  async function runSequence(spec: SequenceSpec): Promise<void> {
    figures.sequences++;
    const repo = `model/seq-${++repoCount}`;
    const model = new EcrPublicModel();
    await createRepository(client, repo);
    model.createRepository(repo);
    const digests: string[] = [];
    const push = async (tags: string[]) => {
      const digest = await seedImage(client, repo, `${repo}#${digests.length}`, tags);
      digests.push(digest);
      for (const tag of tags) model.putImage(repo, digest, tag);
    };
    let next = 0;
    for (const count of spec.repository.tagCounts) {
      await push(spec.repository.tagOrder.slice(next, next + count));
      next += count;
    }
    expect(await listImages(client, repo)).toEqual(model.snapshot(repo));
    const events = new CfnEvents(server);

    /** Sends one event to the bundle and the model and compares everything that must agree. */
    const step = async (event: CloudFormationCustomResourceEvent, modelEvent: ModelEvent, forced?: 'accessDenied') => {
      figures.events++;
      if (modelEvent.properties.Select) figures.selectionEvents++;
      if ((modelEvent.stackStatus ?? '').includes('ROLLBACK')) figures.rollbackEvents++;
      // The stack as CloudFormation holds it when it sends this event.
      stack.set(STACK_ID, modelEvent.stackStatus ?? 'UPDATE_IN_PROGRESS', {
        Resources: modelEvent.templateHasRepository === false ? {} : { Repo: { Type: 'AWS::ECR::PublicRepository' } },
      });
      const before: RegistrySnapshot = await listImages(client, repo);
      const expected: ModelOutcome = applyEvent(model, modelEvent);
      const requestsBefore = injector.requests.length;
      const stale = server.peek(event.RequestId);
      if (forced) injector.forced.push(forced);
      const result = await invokeHandler(server, event, { env });
      injector.forced.length = 0;
      const context = `${event.RequestType} ${JSON.stringify(event.ResourceProperties)}`;

      expect({ context, exitCode: result.exitCode, stderr: result.stderr }).toEqual({ context, exitCode: 0, stderr: '' });
      expect(result.stdout).not.toContain(RESPONSE_URL_SECRET);
      const response = result.response;
      expect(response && response !== stale).toBe(true);
      const body = response!.body;
      expect({ context, status: body.Status, reason: body.Reason }).toEqual({
        context,
        status: expected.status,
        reason: expect.stringMatching(expectedReason(expected, modelEvent)),
      });
      if (expected.rolledBackFailure) figures.rolledBackFailures++;
      if (expected.physicalResourceId === 'new') {
        expect(body.PhysicalResourceId).toBe(`EcrPublicImageDeletion-${event.LogicalResourceId}-${event.RequestId}`);
      } else {
        expect(body.PhysicalResourceId).toBe(expected.physicalResourceId);
      }
      if (body.Status === 'SUCCESS') {
        expect(body.Data?.DeletionRan).toBe(String(expected.deletionRan));
      }
      if (body.Status === 'SUCCESS' && expected.answer) {
        const data = body.Data!;
        expect({ context, deleted: data.DeletedCount, failures: data.FailureCount }).toEqual({
          context,
          deleted: String(expected.answer.imageIds.length),
          failures: String(expected.answer.failures.length),
        });
        if (data.Truncated === 'false') {
          expect(sortedKeys(JSON.parse(data.ImageIds))).toEqual(sortedKeys(expected.answer.imageIds));
          const failures = JSON.parse(data.Failures) as Array<{ imageId: ModelImageId; failureCode: string }>;
          expect(failures.map((f) => `${f.failureCode} ${idKey(f.imageId)}`).sort()).toEqual(
            expected.answer.failures.map((f) => `${f.failureCode} ${idKey(f.imageId)}`).sort(),
          );
        }
      }

      // What the handler asked of ECR Public: nothing when it must not call; otherwise only declared IDs, each of them.
      const requests = injector.requests.slice(requestsBefore);
      if (!expected.calls) {
        expect({ context, requests: requests.length }).toEqual({ context, requests: 0 });
      } else {
        const allowed = new Set(expected.sent.map(idKey));
        const deletes = requests.filter((r) => r.operation === 'SpencerFrontendService.BatchDeleteImage');
        const sent = deletes.flatMap((r) => (JSON.parse(r.body) as { imageIds: ModelImageId[] }).imageIds.map(idKey));
        expect(sent.filter((key) => !allowed.has(key))).toEqual([]);
        expect([...new Set(sent)].sort()).toEqual([...allowed].sort());
        // The listing is read only for a selection that runs.
        const others = requests.filter((r) => r.operation !== 'SpencerFrontendService.BatchDeleteImage').map((r) => r.operation);
        expect(new Set(others).size <= 1 && others.every((o) => o === 'SpencerFrontendService.DescribeImages')).toBe(true);
        if (others.length > 0) expect(modelEvent.properties.Select).toBeDefined();
      }

      const after = await listImages(client, repo);
      const losses = undeclaredLosses(before, after, expected.calls ? expected.sent : []);
      figures.undeclaredLosses += losses.length;
      expect({ context, losses }).toEqual({ context, losses: [] });
      expect({ context, registry: after }).toEqual({ context, registry: model.snapshot(repo) });
      return { body, expected };
    };

    for (const lifecycle of spec.lifecycles) {
      // --- Create (and, when it fails, CloudFormation's rollback Delete) ---
      let props = toProperties(lifecycle.create, repo, digests);
      let wire: object = props;
      let invalid = false;
      if (lifecycle.createFailure === 'missingRepository') {
        props = { ...props, RepositoryName: `${repo}-never-created` };
        wire = props;
      } else if (lifecycle.createFailure === 'invalid') {
        wire = { ...props, ImageIds: [...(props.ImageIds ?? []), { imageDigest: 'sha256:not-a-digest' }] };
        invalid = true;
      } else if (lifecycle.createFailure === 'controlCharacter') {
        // A tag with a control character: refused before any call (it used to reach ECR Public, and the reason loop).
        wire = { ...props, ImageIds: [...(props.ImageIds ?? []), { imageTag: `pr\u0000${'\u0001'.repeat(299)}` }] };
        invalid = true;
      }
      const accessDenied = lifecycle.createFailure === 'accessDenied' && props.DeleteOn.includes('Create');
      const createEvent = events.create(wire);
      const created = await step(
        createEvent,
        { requestType: 'Create', properties: props, invalid, accessDenied },
        accessDenied ? 'accessDenied' : undefined,
      );
      if (created.body.Status === 'FAILED') {
        figures.failedCreates++;
        await step(events.delete(created.body.PhysicalResourceId, wire), {
          requestType: 'Delete',
          properties: props,
          physicalResourceId: CREATE_FAILED_ID,
          invalid,
        });
        continue;
      }
      const physicalId = created.body.PhysicalResourceId;
      let last: { event: CloudFormationCustomResourceEvent; modelEvent: ModelEvent; ok: boolean } = {
        event: createEvent,
        modelEvent: { requestType: 'Create', properties: props },
        ok: true,
      };
      if (lifecycle.retryCreate) {
        figures.retries++;
        const again = await step(createEvent, last.modelEvent);
        expect(again.body.PhysicalResourceId).toBe(physicalId);
      }

      // --- Updates, retries and pushes ---
      let current = lifecycle.create;
      for (const middle of lifecycle.middle) {
        if (middle.kind === 'push') {
          const present = new Set([...model.snapshot(repo).values()].flat());
          const fresh = TAG_POOL.filter((tag) => !present.has(tag));
          const tags = [...fresh.slice(middle.pick % Math.max(1, fresh.length)), ...fresh].slice(0, middle.tags);
          if (tags.length > 0) {
            figures.pushes++;
            await push([...new Set(tags)]);
          }
          continue;
        }
        if (middle.kind === 'retry') {
          if (!last.ok) continue;
          figures.retries++;
          await step(last.event, last.modelEvent);
          continue;
        }
        const nextSpec: PropsSpec = { ...current, decl: middle.decl ?? current.decl, deleteOn: middle.deleteOn ?? current.deleteOn };
        const nextProps = toProperties(nextSpec, repo, digests);
        const updateEvent = events.update(physicalId, nextProps, props);
        const fails = middle.fails && nextProps.DeleteOn.includes('Update');
        const updated = await step(
          updateEvent,
          { requestType: 'Update', properties: nextProps, physicalResourceId: physicalId, accessDenied: fails },
          fails ? 'accessDenied' : undefined,
        );
        expect(updated.body.PhysicalResourceId).toBe(physicalId);
        if (updated.body.Status === 'FAILED') {
          // CloudFormation rolls back: an Update back to the old properties, the failed ones as OldResourceProperties.
          // The rollback may be refused too: it must succeed all the same.
          figures.failedUpdates++;
          const rollback = events.update(physicalId, props, nextProps);
          const refused = middle.rollbackFails && props.DeleteOn.includes('Update');
          const rollbackEvent: ModelEvent = {
            requestType: 'Update',
            properties: props,
            physicalResourceId: physicalId,
            stackStatus: 'UPDATE_ROLLBACK_IN_PROGRESS',
            accessDenied: refused,
          };
          const rolledBack = await step(rollback, rollbackEvent, refused ? 'accessDenied' : undefined);
          expect(rolledBack.body.Status).toBe('SUCCESS');
          last = {
            event: rollback,
            modelEvent: { requestType: 'Update', properties: props, physicalResourceId: physicalId },
            ok: !refused,
          };
          continue;
        }
        current = nextSpec;
        props = nextProps;
        last = { event: updateEvent, modelEvent: { requestType: 'Update', properties: props, physicalResourceId: physicalId }, ok: true };
      }

      // --- The end: a Delete in the stack's state of that ending, possibly delivered twice ---
      if (lifecycle.end !== 'none') {
        const deleteEvent = events.delete(physicalId, props);
        const modelDelete: ModelEvent = { requestType: 'Delete', properties: props, physicalResourceId: physicalId, ...END_STATE[lifecycle.end] };
        const emptier = props.Select?.Match === 'all';
        if (emptier) figures.teardownDeletes++;
        const ended = await step(deleteEvent, modelDelete);
        if (emptier && props.DeleteOn.includes('Delete')) {
          // The registry is then empty, but for protected images, or untouched by the selection: the step compared it with the model.
          if (deletesRepository(modelDelete)) figures.emptiedByTeardown++;
          else figures.keptByGuard++;
          if (ended.body.Status === 'SUCCESS' && !deletesRepository(modelDelete) && !props.ImageIds)
            expect(ended.body.Data?.DeletionRan).toBe('false');
        }
        if (lifecycle.end === 'twice') {
          figures.retries++;
          await step(deleteEvent, modelDelete);
        }
      }
    }
  }

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
  ];
  for (const { seed, path, what } of REGRESSIONS) {
    test(`regression: ${what}`, async () => {
      await fc.assert(fc.asyncProperty(sequenceArb, runSequence), { seed, path, numRuns: 1, endOnFailure: true });
    });
  }

  test('the model answers BatchDeleteImage as the emulator does, for tags, digests, tag+digest pairs, missing IDs and repeats', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(repositoryArb, fc.array(declarationArb(true), { minLength: 1, maxLength: 3 }), async (repository, batches) => {
        figures.batchRuns++;
        const repo = `model/batch-${++n}`;
        const model = new EcrPublicModel();
        await createRepository(client, repo);
        model.createRepository(repo);
        const digests: string[] = [];
        let next = 0;
        for (const count of repository.tagCounts) {
          const tags = repository.tagOrder.slice(next, next + count);
          next += count;
          const digest = await seedImage(client, repo, `${repo}#${digests.length}`, tags);
          digests.push(digest);
          for (const tag of tags) model.putImage(repo, digest, tag);
        }
        for (const batch of batches) {
          const imageIds = resolve(batch, digests);
          const answer = await client.send(new BatchDeleteImageCommand({ repositoryName: repo, imageIds }));
          const expected = model.batchDeleteImage(repo, imageIds);
          expect(sortedKeys(answer.imageIds ?? [])).toEqual(sortedKeys(expected.imageIds));
          expect((answer.failures ?? []).map((f) => `${f.failureCode} ${idKey(f.imageId ?? {})}`).sort()).toEqual(
            expected.failures.map((f) => `${f.failureCode} ${idKey(f.imageId)}`).sort(),
          );
          expect(await listImages(client, repo)).toEqual(model.snapshot(repo));
        }
      }),
      fcOptions(40),
    );
  }, 60_000);

  test('a tag+digest pair removes that one tag, as ECR Public documents (moto 5.2 deleted the whole image here)', async () => {
    const repo = 'model/pair-deviation';
    await createRepository(client, repo);
    const digest = await seedImage(client, repo, repo, ['v1', 'stable']);
    await client.send(new BatchDeleteImageCommand({ repositoryName: repo, imageIds: [{ imageTag: 'v1', imageDigest: digest }] }));
    const model = new EcrPublicModel();
    model.createRepository(repo);
    for (const tag of ['v1', 'stable']) model.putImage(repo, digest, tag);
    model.batchDeleteImage(repo, [{ imageTag: 'v1', imageDigest: digest }]);
    expect(model.snapshot(repo)).toEqual(new Map([[digest, ['stable']]]));
    expect(await listImages(client, repo)).toEqual(model.snapshot(repo));
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
