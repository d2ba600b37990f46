/**
 * The reference cache through the shipped handler bundle, against the local
 * ECR Public (the JSON API, the registry with its token realm) and the local
 * DynamoDB (the stack's table, REFERENCE_CACHE_TABLE): whatever state the
 * cache is in (cold, warm, partly filled, unreadable, unwritable, absent),
 * the event decides the same, no reference of what stays is broken, and the
 * dry run lists what the real run deletes; only the number of registry reads
 * changes. The reads are authenticated (GetAuthorizationToken, then Basic to
 * the realm), and no credential or token is ever in what the handler prints.
 */
import { EcrPublicEmulator, SeedImage, buildxIndex, cosignSignature, singleImage, startEcrPublicEmulator } from '../../local/ecr-public';
import { DynamoFault, LocalDynamoDb, createReferenceCacheTable, startLocalDynamoDb } from '../../local/dynamodb';
import { selectionProperties } from '../support/cfn-events';
import { InvocationResult, LocalCustomResource, ResponseServer } from '../support/local-cloudformation';

const DAY = 86_400_000;
const now = Date.now();
const TABLE = 'stack-reference-cache';

let emulator: EcrPublicEmulator;
let dynamo: LocalDynamoDb;
let server: ResponseServer;
beforeAll(async () => {
  emulator = await startEcrPublicEmulator();
  dynamo = await startLocalDynamoDb({ region: 'eu-central-1' });
  server = await ResponseServer.start();
  createReferenceCacheTable(dynamo.store, TABLE);
});
afterAll(async () => {
  await server.close();
  await dynamo.close();
  await emulator.close();
});

/**
 * Five buildx pushes: three tagged (kept by untaggedImages(), with their children), two whose tag moved on
 * (untagged: they go with their children), a signature of the newest release (kept with it), and a stray image.
 */
function repositoryShape(): { images: SeedImage[]; gone: string[] } {
  const pushes = [0, 1, 2, 3, 4].map((i) => buildxIndex(`cache-${i}`, { tags: i % 2 === 0 ? [`v${i}`] : [], pushedAt: now - (10 - i) * DAY }));
  const signature = { ...cosignSignature(pushes[4].index), pushedAt: now - 5 * DAY };
  const stray = singleImage('cache-stray', { pushedAt: now - 3 * DAY });
  const images = [...pushes.flatMap((push) => push.images), signature, stray];
  const gone = [...pushes[1].images, ...pushes[3].images, stray].map((image) => image.digest).sort();
  return { images, gone };
}

let repositories = 0;
/** A fresh repository with the shape above (the same digests every time: the cache knows them from an earlier test). */
function seeded(): { repo: string; images: SeedImage[]; gone: string[] } {
  const repo = `cache/repo-${++repositories}`;
  const shape = repositoryShape();
  emulator.createRepository(repo);
  emulator.seed(repo, shape.images);
  return { repo, ...shape };
}

/** Deletes every item of the table, or those `which` picks. */
function clearCache(which: (digest: string) => boolean = () => true): void {
  const items = dynamo.store.table(TABLE).items;
  for (const key of [...items.keys()]) if (which(key)) items.delete(key);
}

const env = (extra: Record<string, string> = {}) => ({
  AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint,
  ECR_PUBLIC_REGISTRY_ENDPOINT: emulator.registryEndpoint,
  AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  REFERENCE_CACHE_TABLE: TABLE,
  ...extra,
});

interface Run {
  readonly result: InvocationResult;
  readonly reads: Record<string, unknown> & { fromCache: number; fromRegistry: number; cacheStored: number; pulls: number };
  readonly deleted: string[];
  /** Manifest requests the registry served in the run. */
  readonly manifestRequests: number;
}

async function run(repo: string, options: { dryRun?: boolean; env?: Record<string, string>; faults?: DynamoFault[] } = {}): Promise<Run> {
  emulator.resetStats();
  dynamo.reset();
  dynamo.faults.push(...(options.faults ?? []));
  const resource = new LocalCustomResource(server, { env: env(options.env) });
  const result = await resource.create(selectionProperties(repo, { Match: 'untagged' }, { DryRun: options.dryRun ? 'true' : 'false' }));
  const line = JSON.parse(result.stdout.split('\n').find((l) => l.includes('EcrPublicImageDeletion event'))!);
  const deleted = (line.deletedImageIds as Array<{ imageDigest: string }>).map((id) => id.imageDigest).sort();
  return { result, reads: line.selection.reads, deleted, manifestRequests: emulator.stats('manifests').calls };
}

/** Every manifest a remaining index lists, and the subject of every remaining referrer, still exists. */
function broken(repo: string): string[] {
  const left = emulator.images(repo);
  const digests = new Set(left.map((image) => image.digest));
  return left.flatMap((image) => [
    ...image.references.filter((child) => !digests.has(child)).map((child) => `${image.digest} -> ${child}`),
    ...(image.subject !== undefined && !digests.has(image.subject) ? [`${image.digest} (referrer) -> ${image.subject}`] : []),
  ]);
}

/**
 * The event's outcome, whatever the cache: the same images go, nothing that stays loses what it needs; the dry run
 * (first, so that it meets the cache as the test set it) said so. Returns the dry run, then the real one.
 */
async function expectTheSameDecision(options: { env?: Record<string, string>; faults?: DynamoFault[] } = {}): Promise<[Run, Run]> {
  const s = seeded();
  const dry = await run(s.repo, { ...options, dryRun: true });
  const real = await run(s.repo, options);
  expect(real.result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0', KeptUnknownCount: '0' } });
  expect(real.deleted).toEqual(s.gone);
  expect(dry.deleted).toEqual(real.deleted);
  expect(broken(s.repo)).toEqual([]);
  const printed = real.result.stdout + real.result.stderr + dry.result.stdout + dry.result.stderr;
  for (const secret of emulator.issuedSecrets()) expect(printed).not.toContain(secret);
  return [dry, real];
}

describe('the reference cache through the handler', () => {
  test('cold: every manifest the decision needs is read from the registry, authenticated, and stored', async () => {
    clearCache();
    const [first, second] = await expectTheSameDecision();
    expect(first.reads).toMatchObject({ fromCache: 0, access: 'authenticated registry reads', throttled: 0, cacheUnwritten: 0 });
    expect(first.reads.fromRegistry).toBeGreaterThan(0);
    expect(first.reads.cacheStored).toBe(first.reads.fromRegistry);
    expect(emulator.issuedSecrets().length).toBeGreaterThan(0);
    // The second event of the day finds it all in the cache.
    expect(second.reads).toMatchObject({ fromRegistry: 0, fromCache: first.reads.fromRegistry });
  });

  test('warm: the same repository again reads nothing from the registry (no token either)', async () => {
    const [first] = await expectTheSameDecision();
    expect(first.reads).toMatchObject({ fromRegistry: 0, pulls: 0 });
    expect(first.reads.fromCache).toBeGreaterThan(0);
    expect(first.manifestRequests).toBe(0);
  });

  test('partly filled: only what the cache lacks is read, and then stored', async () => {
    let dropped = 0;
    clearCache(() => dropped++ % 2 === 0);
    const [first] = await expectTheSameDecision();
    expect(first.reads.fromCache).toBeGreaterThan(0);
    expect(first.reads.fromRegistry).toBeGreaterThan(0);
    expect(first.reads.cacheStored).toBe(first.reads.fromRegistry);
  });

  test.each<[string, DynamoFault[]]>([
    ['refused (AccessDenied)', [{ operation: 'BatchGetItem', kind: 'accessDenied' }]],
    ['down (500 on every call)', Array.from({ length: 40 }, () => ({ operation: 'BatchGetItem' as const, kind: 'serverError' as const }))],
  ])('unreadable, %s: every manifest is read from the registry, and the decision is the same', async (_what, faults) => {
    const [first] = await expectTheSameDecision({ faults });
    expect(first.reads.fromCache).toBe(0);
    expect(first.reads.fromRegistry).toBeGreaterThan(0);
  });

  test('unwritable (BatchWriteItem refused): the decision is the same, and the next event reads from the registry again', async () => {
    clearCache();
    const faults: DynamoFault[] = [{ operation: 'BatchWriteItem', kind: 'accessDenied' }];
    const [first, next] = await expectTheSameDecision({ faults });
    expect(first.reads).toMatchObject({ cacheStored: 0, cacheOff: expect.stringContaining('AccessDeniedException') });
    expect(first.reads.cacheUnwritten).toBeGreaterThan(0);
    expect(next.reads).toMatchObject({ fromCache: 0, fromRegistry: first.reads.fromRegistry });
  });

  test('absent (a function without REFERENCE_CACHE_TABLE): the decision is the same, and the log says why', async () => {
    const [first] = await expectTheSameDecision({ env: { REFERENCE_CACHE_TABLE: '' } });
    expect(first.reads).toMatchObject({ fromCache: 0, cacheOff: expect.stringContaining('REFERENCE_CACHE_TABLE') });
  });

  test('GetAuthorizationToken refused: anonymous reads, the same decision, and the reason says so', async () => {
    emulator.authorize = (action) => (action === 'ecr-public:GetAuthorizationToken' ? 'not allowed (test)' : undefined);
    try {
      clearCache();
      const [first] = await expectTheSameDecision();
      expect(String(first.reads.access)).toMatch(/^anonymous registry reads: GetAuthorizationToken failed: AccessDeniedException/);
      expect(first.result.response?.body.Reason).toContain('anonymous registry reads');
      expect(emulator.pulls().authenticated.pulls).toBe(0);
    } finally {
      emulator.authorize = undefined;
    }
  });
});
