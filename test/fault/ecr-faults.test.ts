/**
 * The shipped bundle through whole Create → Update → Update → Delete lifecycles
 * with faults injected by the local ECR Public (its fault switches):
 * throttling, 5xx, dropped connections, latency spikes and hangs.
 *
 * What "the same outcome as the fault-free run" means here:
 * - the registry after every event equals the fault-free run's, and the model's;
 * - every event gets the same Status, the same kind of physical ID and the same
 *   DeletionRan;
 * - when no answer was lost after moto applied it, the attributes are equal,
 *   byte for byte;
 * - when an answer was lost (a connection dropped after the emulator deleted the
 *   batch), the SDK retries the call and the emulator reports what the lost call
 *   deleted as ImageNotFound: DeletedCount may then be lower and FailureCount
 *   higher. The declared IDs reported deleted plus those reported ImageNotFound
 *   are still every declared ID, the ones reported deleted are a subset of the
 *   fault-free run's, and every failure is ImageNotFound.
 *
 * Throttling and 5xx are answered without applying the request, so only
 * `dropAfter` loses an applied answer.
 *
 * @jest-environment ./test/support/failure-aware-environment.ts
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { CfnEvents } from '../support/cfn-events';
import { CREATE_FAILED_ID, ModelEvent, ModelProperties, RequestType, applyEvent, expectedReason } from '../support/custom-resource-model';
import { EcrPublicModel, ModelImageId, undeclaredLosses } from '../support/ecr-model';
import { FAULT_KINDS, FaultKind, FaultRates } from '../../local/ecr-public';
import { failedTestCount } from '../support/figures';
import { CfnResponseBody, RESPONSE_URL_SECRET, invokeHandler } from '../support/local-cloudformation';
import { createRepository, listImages, seedImage } from '../support/local-ecr-public';
import { useLocalRig } from '../support/local-rig';

/** The Lambda timeout the hang tests give the handler (context.getRemainingTimeInMillis at the start). */
const SHORT_LAMBDA_MS = 8_000;

/** Image i of a scenario: one, two or three tags, in turn. */
function tagsOf(i: number): string[] {
  return [`t${i}`, `t${i}-b`, `t${i}-c`].slice(0, (i % 3) + 1);
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
const missingDigest = (k: number) => `sha256:${k.toString(16).padStart(4, '0')}${'e'.repeat(60)}`;

interface ScenarioEvent {
  readonly requestType: RequestType;
  /** For Create and Update: the declaration and deleteOn. A Delete carries the last ones. */
  readonly imageIds?: (digests: string[]) => ModelImageId[];
  readonly deleteOn?: RequestType[];
}

/**
 * Four events: a Create that deletes by tag, an Update that deletes by digest,
 * an Update that deleteOn leaves out (no call), and the Delete that carries its
 * declaration. Within one event no two IDs touch the same image, so batches
 * answered in any order report the same thing.
 */
function scenario(images: number): ScenarioEvent[] {
  const quarter = Math.floor(images / 4);
  return [
    {
      requestType: 'Create',
      deleteOn: ['Create', 'Update', 'Delete'],
      imageIds: () => [...range(0, 2 * quarter).map((i) => ({ imageTag: `t${i}` })), { imageTag: 'gone-1' }, { imageTag: 'gone-2' }],
    },
    {
      requestType: 'Update',
      deleteOn: ['Update'],
      imageIds: (d) => [...range(quarter, 3 * quarter).map((i) => ({ imageDigest: d[i] })), { imageDigest: missingDigest(1) }],
    },
    {
      requestType: 'Update',
      deleteOn: ['Delete'],
      imageIds: (d) => [
        ...range(3 * quarter, images).map((i) => (i % 2 === 0 ? { imageDigest: d[i] } : { imageTag: tagsOf(i).at(-1)! })),
        { imageTag: 'gone-3' },
      ],
    },
    { requestType: 'Delete' },
  ];
}

interface EventRecord {
  readonly body: CfnResponseBody;
  /** The reason, with the run's repository name replaced by REPO (each run has its own repository). */
  readonly reason: string;
  readonly registry: Map<string, string[]>;
  readonly declared: ModelImageId[];
  /** Faults injected while the event ran, by kind. */
  readonly faults: Record<FaultKind, number>;
}

/** Figures for the closing note: lifecycles and events run, requests seen, faults injected by kind, per test. */
const totals = {
  lifecycles: 0,
  events: 0,
  hangs: 0,
  requests: 0,
  injected: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
  byTest: {} as Record<string, Partial<Record<FaultKind | 'requests', number>>>,
};

describe('fault injection between the handler and ECR Public', () => {
  let repoCount = 0;

  // Never more than 5 faults for one call: the client's 8 attempts always absorb them.
  const rig = useLocalRig({ maxFaultsPerCall: 5, latencyMs: [200, 1200] }, ({ faults }) => {
    for (const kind of FAULT_KINDS) totals.injected[kind] += faults.injected[kind];
    totals.requests += faults.requests.length;
    if (failedTestCount() > 0) console.log(`ECR-side fault injection (printed because a test failed): ${JSON.stringify(totals, null, 1)}`);
  });

  async function seededRepository(images: number, model: EcrPublicModel): Promise<{ repo: string; digests: string[] }> {
    const repo = `faults/repo-${++repoCount}`;
    await createRepository(rig().client, repo);
    model.createRepository(repo);
    const digests: string[] = [];
    for (const i of range(0, images)) {
      // Same seed, same digest in every repository: runs are comparable image by image.
      const digest = await seedImage(rig().client, repo, `image-${i}`, tagsOf(i));
      digests.push(digest);
      for (const tag of tagsOf(i)) model.putImage(repo, digest, tag);
    }
    return { repo, digests };
  }

  const injectedNow = (): Record<FaultKind, number> => ({ ...rig().faults.injected });
  let testStart = { injected: {} as Record<FaultKind, number>, requests: 0 };
  beforeEach(() => {
    testStart = { injected: injectedNow(), requests: rig().faults.requests.length };
  });
  afterEach(() => {
    const name = (expect.getState().currentTestName ?? '?').replace('fault injection between the handler and ECR Public ', '').slice(0, 48);
    const faults = diff(injectedNow(), testStart.injected);
    totals.byTest[name] = {
      requests: rig().faults.requests.length - testStart.requests,
      ...Object.fromEntries(FAULT_KINDS.filter((k) => faults[k] > 0).map((k) => [k, faults[k]])),
    };
  });
  const diff = (after: Record<FaultKind, number>, before: Record<FaultKind, number>) =>
    Object.fromEntries(FAULT_KINDS.map((k) => [k, after[k] - before[k]])) as Record<FaultKind, number>;

  /** Runs the scenario's lifecycle under the given fault rates, checking the model at every event. */
  async function runLifecycle(images: number, rates: FaultRates, seed: number): Promise<EventRecord[]> {
    totals.lifecycles++;
    const model = new EcrPublicModel();
    const { repo, digests } = await seededRepository(images, model);
    rig().faults.configure(rates, seed);
    const events = new CfnEvents(rig().server);
    const records: EventRecord[] = [];
    let properties: ModelProperties | undefined;
    let physicalId = '';
    try {
      for (const step of scenario(images)) {
        totals.events++;
        const previous = properties;
        if (step.imageIds) {
          properties = {
            RepositoryName: repo,
            ImageIds: step.imageIds(digests),
            DeleteOn: step.deleteOn ?? ['Create', 'Update', 'Delete'],
            FailOnImageFailure: 'true',
            ApiRegion: 'us-east-1',
          };
        }
        const props = properties!;
        let event: CloudFormationCustomResourceEvent;
        if (step.requestType === 'Create') event = events.create(props);
        else if (step.requestType === 'Update') event = events.update(physicalId, props, previous!);
        else event = events.delete(physicalId, props);
        const modelEvent: ModelEvent = { requestType: step.requestType, properties: props, physicalResourceId: physicalId };

        const before = await listImages(rig().client, repo);
        const expected = applyEvent(model, modelEvent);
        const faultsBefore = injectedNow();
        const result = await invokeHandler(rig().server, event, { env: rig().env });
        const faults = diff(injectedNow(), faultsBefore);
        expect(result.exitCode).toBe(0);
        expect(result.stdout + result.stderr).not.toContain(RESPONSE_URL_SECRET);
        const body = result.response!.body;
        expect({ step: step.requestType, status: body.Status, reason: body.Reason }).toEqual({
          step: step.requestType,
          status: expected.status,
          // A call applied and then retried reports ImageNotFound for what it deleted: the split of the counts is the faults'.
          reason: expect.stringMatching(
            Object.values(faults).every((n) => n === 0)
              ? expectedReason(expected, modelEvent)
              : /^deleted \d+ image IDs from repository ".*" .*; \d+ failures$/,
          ),
        });
        if (step.requestType === 'Create') physicalId = body.PhysicalResourceId;
        else expect(body.PhysicalResourceId).toBe(physicalId);
        const registry = await listImages(rig().client, repo);
        expect(registry).toEqual(model.snapshot(repo));
        expect(undeclaredLosses(before, registry, expected.calls ? expected.sent : [])).toEqual([]);
        records.push({ body, reason: body.Reason.split(repo).join('REPO'), registry, declared: expected.calls ? expected.sent : [], faults });
      }
    } finally {
      rig().faults.configure({});
    }
    return records;
  }

  /** For each declared ID: 'deleted' or 'ImageNotFound', from a response whose lists were not cut. */
  function accounting(record: EventRecord): Map<string, 'deleted' | 'ImageNotFound'> {
    const data = record.body.Data!;
    expect(data.Truncated).toBe('false');
    const deleted = JSON.parse(data.ImageIds) as ModelImageId[];
    const failures = JSON.parse(data.Failures) as Array<{ imageId: ModelImageId; failureCode: string }>;
    const result = new Map<string, 'deleted' | 'ImageNotFound'>();
    for (const id of record.declared) {
      const key = JSON.stringify(id);
      const wasDeleted = deleted.some((d) => (id.imageTag !== undefined ? d.imageTag === id.imageTag : d.imageDigest === id.imageDigest));
      const notFound = failures.some(
        (f) => f.failureCode === 'ImageNotFound' && f.imageId.imageTag === id.imageTag && f.imageId.imageDigest === id.imageDigest,
      );
      expect({ id, accountedFor: wasDeleted !== notFound }).toEqual({ id, accountedFor: true });
      result.set(key, wasDeleted ? 'deleted' : 'ImageNotFound');
    }
    expect(failures.every((f) => f.failureCode === 'ImageNotFound')).toBe(true);
    return result;
  }

  test('throttling at 30% and 5xx at 10%: the same registry and attributes as without faults', async () => {
    const images = 240; // 122, 121 and 61 IDs: two, two and one batches of BatchDeleteImage
    const clean = await runLifecycle(images, {}, 1);
    const injected: Record<FaultKind, number>[] = [];
    for (const seed of [11, 12, 13, 14, 15]) {
      const faulty = await runLifecycle(images, { throttle: 0.3, serverError: 0.1 }, seed);
      faulty.forEach((record, index) => {
        // Nothing was applied and then lost: the attributes are equal, byte for byte.
        expect(record.body.Status).toBe(clean[index].body.Status);
        expect(record.body.Data).toEqual(clean[index].body.Data);
        expect(record.reason).toBe(clean[index].reason);
        expect(record.registry).toEqual(clean[index].registry);
        injected.push(record.faults);
      });
    }
    const sum = (kind: FaultKind) => injected.reduce((n, f) => n + f[kind], 0);
    expect(sum('throttle')).toBeGreaterThan(0);
    expect(sum('serverError')).toBeGreaterThan(0);
    expect(sum('dropAfter') + sum('dropBefore') + sum('hang')).toBe(0);
  }, 150_000);

  test('dropped connections (before and after the emulator applied the call) and latency spikes: the same registry, every declared ID accounted for', async () => {
    const images = 16; // small declarations: the lists in the response are never cut
    const clean = await runLifecycle(images, {}, 2);
    const cleanAccounts = clean.map((record) => (record.body.Data?.DeletionRan === 'true' ? accounting(record) : undefined));
    let lostAnswers = 0;
    const injected: Record<FaultKind, number>[] = [];
    for (const seed of [21, 22, 23, 24, 25, 26]) {
      const faulty = await runLifecycle(images, { dropBefore: 0.2, dropAfter: 0.2, throttle: 0.1, latency: 0.3 }, seed);
      faulty.forEach((record, index) => {
        injected.push(record.faults);
        const reference = clean[index];
        expect(record.registry).toEqual(reference.registry);
        expect(record.body.Status).toBe(reference.body.Status);
        expect(record.body.Data?.DeletionRan).toBe(reference.body.Data?.DeletionRan);
        if (record.faults.dropAfter === 0) {
          expect(record.body.Data).toEqual(reference.body.Data);
          return;
        }
        lostAnswers++;
        const account = accounting(record);
        const cleanAccount = cleanAccounts[index]!;
        expect([...account.keys()].sort()).toEqual([...cleanAccount.keys()].sort());
        for (const [key, status] of account) {
          // A lost answer can only turn "deleted" into "ImageNotFound", never the other way.
          if (status === 'deleted') expect({ key, clean: cleanAccount.get(key) }).toEqual({ key, clean: 'deleted' });
        }
        expect(Number(record.body.Data!.DeletedCount)).toBeLessThanOrEqual(Number(reference.body.Data!.DeletedCount));
      });
    }
    const sum = (kind: FaultKind) => injected.reduce((n, f) => n + f[kind], 0);
    expect(sum('dropBefore')).toBeGreaterThan(0);
    expect(sum('dropAfter')).toBeGreaterThan(0);
    expect(sum('latency')).toBeGreaterThan(0);
    expect(lostAnswers).toBeGreaterThan(0);
  }, 150_000);

  test('a call that hangs: FAILED before the Lambda deadline, saying what timed out; the rollback Delete does nothing', async () => {
    const model = new EcrPublicModel();
    const { repo } = await seededRepository(6, model);
    const before = await listImages(rig().client, repo);
    const events = new CfnEvents(rig().server);
    const properties = {
      RepositoryName: repo,
      ImageIds: [{ imageTag: 't0' }, { imageTag: 't1' }],
      DeleteOn: ['Create', 'Delete'],
      FailOnImageFailure: 'true',
      ApiRegion: 'us-east-1',
    };
    const requestsBefore = rig().faults.requests.length;
    rig().faults.forced.push('hang');
    totals.hangs++;
    const created = await invokeHandler(rig().server, events.create(properties), { env: rig().env, remainingMs: SHORT_LAMBDA_MS });
    expect(created.durationMs).toBeLessThan(SHORT_LAMBDA_MS);
    expect(created.exitCode).toBe(0);
    expect(created.response?.body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: CREATE_FAILED_ID });
    expect(created.response?.body.Reason).toMatch(
      /^nothing deleted: DeadlineExceededError: timed out .*waiting for ECR Public BatchDeleteImage: 0 of 1 batches answered \(0 image IDs deleted\)/,
    );
    expect(await listImages(rig().client, repo)).toEqual(before);

    const rollback = await invokeHandler(rig().server, events.delete(CREATE_FAILED_ID, properties), { env: rig().env });
    expect(rollback.response?.body.Status).toBe('SUCCESS');
    expect(rig().faults.requests.length - requestsBefore).toBe(1); // the hung call, nothing after it
    expect(await listImages(rig().client, repo)).toEqual(before);
  }, 30_000);

  test('a hang after two of three batches: FAILED in time, what was deleted was declared, and a second Delete finishes the job', async () => {
    const model = new EcrPublicModel();
    const images = 300;
    const { repo, digests } = await seededRepository(images, model);
    const ids = digests.map((imageDigest) => ({ imageDigest })); // three batches of 100
    const properties: ModelProperties = {
      RepositoryName: repo,
      ImageIds: ids,
      DeleteOn: ['Delete'],
      FailOnImageFailure: 'true',
      ApiRegion: 'us-east-1',
    };
    const events = new CfnEvents(rig().server);
    const physicalId = 'EcrPublicImageDeletion-ImageDeletion-earlier-create';
    const before = await listImages(rig().client, repo);

    rig().faults.forced.push('pass', 'pass', 'hang');
    totals.hangs++;
    const first = await invokeHandler(rig().server, events.delete(physicalId, properties), { env: rig().env, remainingMs: SHORT_LAMBDA_MS });
    expect(first.durationMs).toBeLessThan(SHORT_LAMBDA_MS);
    expect(first.response?.body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: physicalId });
    expect(first.response?.body.Reason).toMatch(
      /^\d+ image IDs deleted before the failure \(the function log lists them\): DeadlineExceededError: timed out .*waiting for ECR Public BatchDeleteImage: 2 of 3 batches answered/,
    );
    const partial = await listImages(rig().client, repo);
    // The record of what went survives the failure: the log line lists exactly the images that are gone.
    const logged = JSON.parse(first.stdout.trim().split('\n').pop()!) as { deleted: number; deletedImageIds: Array<{ imageDigest: string }> };
    const gone = [...before.keys()].filter((digest) => !partial.has(digest));
    // Two batches of 100 digests, each reported with every tag it had.
    expect(first.response?.body.Reason).toMatch(new RegExp(`^${logged.deleted} image IDs deleted`));
    expect(logged.deletedImageIds.length).toBe(logged.deleted);
    expect(new Set(logged.deletedImageIds.map((id) => id.imageDigest))).toEqual(new Set(gone));
    expect(undeclaredLosses(before, partial, ids)).toEqual([]);
    expect(partial.size).toBeLessThan(before.size);

    // The stack deletion is tried again: the Delete event comes back and completes.
    const second = await invokeHandler(rig().server, events.delete(physicalId, properties), { env: rig().env });
    expect(second.response?.body.Status).toBe('SUCCESS');
    applyEvent(model, { requestType: 'Delete', properties, physicalResourceId: physicalId });
    expect(await listImages(rig().client, repo)).toEqual(model.snapshot(repo));
  }, 60_000);

  test('throttling that never stops: FAILED before the Lambda deadline, not after it', async () => {
    const model = new EcrPublicModel();
    const { repo } = await seededRepository(3, model);
    const before = await listImages(rig().client, repo);
    const events = new CfnEvents(rig().server);
    const physicalId = 'EcrPublicImageDeletion-ImageDeletion-throttled';
    const properties = {
      RepositoryName: repo,
      ImageIds: [{ imageTag: 't1' }],
      DeleteOn: ['Update'],
      FailOnImageFailure: 'true',
      ApiRegion: 'us-east-1',
    };
    // Forced, so that the per-call limit of the fault switches does not apply: every attempt is throttled.
    rig().faults.forced.push(...Array.from({ length: 10 }, () => 'throttle' as const));
    try {
      const updated = await invokeHandler(rig().server, events.update(physicalId, properties, properties), {
        env: rig().env,
        remainingMs: SHORT_LAMBDA_MS,
      });
      expect(updated.durationMs).toBeLessThan(SHORT_LAMBDA_MS);
      expect(updated.response?.body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: physicalId });
      expect(updated.response?.body.Reason).toMatch(/timed out .*waiting for ECR Public BatchDeleteImage|ThrottlingException/);
    } finally {
      rig().faults.forced.length = 0;
    }
    expect(await listImages(rig().client, repo)).toEqual(before);
  }, 30_000);
});
