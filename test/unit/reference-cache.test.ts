/**
 * The reference cache (lambda/reference-cache.ts) against the local DynamoDB:
 * what it stores it reads back, in batches of DynamoDB's sizes, unprocessed
 * keys and writes retried; and whatever the table does, a lookup answers only
 * what was stored from verified bytes, the rest is a miss, and nothing throws.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as fc from 'fast-check';
import { createHash } from 'node:crypto';
import { REFERENCE_CACHE_TABLE_ENV } from '../../lib/contract';
import { cacheOff, openStackReferenceCache } from '../../lambda/reference-cache-loader';
import {
  BATCH_ATTEMPTS,
  CACHE_ITEM_FORMAT,
  CachedManifest,
  ReferenceCache,
  ReferenceCacheOptions,
  fromItem,
  openReferenceCache,
  toItem,
} from '../../lambda/reference-cache';
import { VerifiedManifest, verifyManifest } from '../../lambda/verified-manifest';
import { DynamoFault, LocalDynamoDb, createReferenceCacheTable, startLocalDynamoDb } from '../../local/dynamodb';

const TABLE = 'references';
let local: LocalDynamoDb;
let client: DynamoDBClient;

/** A verified index listing `children` (digests), with a subject when given. */
function manifest(seed: string, children: string[] = [], subject?: string): VerifiedManifest {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: children.map((digest) => ({ digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 })),
      annotations: { seed },
      ...(subject ? { subject: { digest: subject, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 } } : {}),
    }),
  );
  return verifyManifest(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes) as VerifiedManifest;
}
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const factsOf = (m: VerifiedManifest): CachedManifest => ({
  digest: m.digest,
  references: m.references,
  ...(m.mediaType ? { mediaType: m.mediaType } : {}),
  ...(m.subject ? { subject: m.subject } : {}),
});

/** A cache on the local table that never really waits. */
const cacheOn = (options: Partial<ReferenceCacheOptions> = {}): ReferenceCache =>
  openReferenceCache({ tableName: TABLE, client, sleep: async () => undefined, random: () => 0.5, ...options });

beforeAll(async () => {
  local = await startLocalDynamoDb({ region: 'eu-west-1' });
  client = new DynamoDBClient({
    region: 'eu-west-1',
    endpoint: local.endpoint,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
  createReferenceCacheTable(local.store, TABLE);
});
afterAll(async () => {
  client.destroy();
  await local.close();
});
beforeEach(() => {
  local.reset();
  local.store.table(TABLE).items.clear();
});

describe('what it stores it reads back', () => {
  test('the digests an index lists, its media type and subject; an unknown digest is a miss', async () => {
    const index = manifest('a', [digest(1), digest(2)]);
    const referrer = manifest('sig', [], digest(1));
    const cache = cacheOn();
    await cache.store([index, referrer]);
    const found = await cache.lookup([index.digest, referrer.digest, digest(99)]);
    expect(found).toEqual(
      new Map([
        [index.digest, factsOf(index)],
        [referrer.digest, factsOf(referrer)],
      ]),
    );
    expect(cache.stats).toMatchObject({ looked: 3, hits: 2, misses: 1, stored: 2, unwritten: 0, malformed: 0, causes: [] });
  });

  test("in DynamoDB's batch sizes: 100 keys a read, 25 items a write; each digest once", async () => {
    const manifests = Array.from({ length: 60 }, (_, i) => manifest(`m${i}`, [digest(i)]));
    const cache = cacheOn();
    await cache.store([...manifests, ...manifests.slice(0, 10)]);
    expect(local.requests('BatchWriteItem').map((r) => (r.body.RequestItems as Record<string, unknown[]>)[TABLE].length)).toEqual([25, 25, 10]);
    const wanted = [...manifests.map((m) => m.digest), ...Array.from({ length: 190 }, (_, i) => digest(1000 + i))];
    const found = await cache.lookup([...wanted, ...wanted.slice(0, 5)]);
    expect(found.size).toBe(60);
    expect(local.requests('BatchGetItem').map((r) => (r.body.RequestItems as Record<string, { Keys: unknown[] }>)[TABLE].Keys.length)).toEqual([
      100, 100, 50,
    ]);
  });

  test('unprocessed keys and writes are sent again until answered', async () => {
    const manifests = Array.from({ length: 5 }, (_, i) => manifest(`u${i}`));
    local.faults.push({ operation: 'BatchWriteItem', kind: 'unprocessed', count: 3 }, { operation: 'BatchWriteItem', kind: 'unprocessed', count: 1 });
    const cache = cacheOn();
    await cache.store(manifests);
    expect(cache.stats).toMatchObject({ stored: 5, unwritten: 0, calls: 3 });
    local.faults.push({ operation: 'BatchGetItem', kind: 'unprocessed', count: 2 });
    expect((await cache.lookup(manifests.map((m) => m.digest))).size).toBe(5);
    expect(local.requests('BatchGetItem').map((r) => (r.body.RequestItems as Record<string, { Keys: unknown[] }>)[TABLE].Keys.length)).toEqual([
      5, 2,
    ]);
  });

  test(`what stays unprocessed after ${BATCH_ATTEMPTS} attempts is a miss, or unwritten`, async () => {
    const stored = manifest('kept');
    await cacheOn().store([stored]);
    // Each attempt leaves one key fewer unprocessed (a batch of which nothing is processed is an error instead, as documented).
    const shrinking = (): DynamoFault[] => Array.from({ length: BATCH_ATTEMPTS }, (_, i) => ({ kind: 'unprocessed', count: BATCH_ATTEMPTS - i }));
    local.faults.push(...shrinking());
    const cache = cacheOn();
    // The stored digest comes last: it is among the keys left unprocessed every time.
    const found = await cache.lookup([...Array.from({ length: BATCH_ATTEMPTS }, (_, i) => digest(100 + i)), stored.digest]);
    expect(found).toEqual(new Map());
    expect(local.requests('BatchGetItem')).toHaveLength(BATCH_ATTEMPTS);
    local.faults.push(...shrinking());
    await cache.store(Array.from({ length: BATCH_ATTEMPTS + 1 }, (_, i) => manifest(`w${i}`)));
    expect(cache.stats).toMatchObject({ hits: 0, misses: BATCH_ATTEMPTS + 1, stored: BATCH_ATTEMPTS, unwritten: 1 });
  });

  test('AWS_ENDPOINT_URL_DYNAMODB reaches the local DynamoDB: the loader opens the table the function names', async () => {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = local.endpoint;
    process.env[REFERENCE_CACHE_TABLE_ENV] = TABLE;
    try {
      const cache = openStackReferenceCache();
      const index = manifest('env', [digest(7)]);
      await cache.store([index]);
      expect(await cache.lookup([index.digest])).toEqual(new Map([[index.digest, factsOf(index)]]));
      expect(cache.stats.off).toBeUndefined();
      expect(local.requests().map((r) => r.operation)).toEqual(['BatchWriteItem', 'BatchGetItem']);
    } finally {
      delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
      delete process.env[REFERENCE_CACHE_TABLE_ENV];
    }
  });
});

describe('a cache that cannot be read or written costs reads, never safety', () => {
  test.each([
    ['access denied', 'accessDenied', true],
    ['throttled', 'throttle', false],
    ['an outage', 'serverError', false],
    ['a dropped connection', 'drop', false],
  ] as const)('%s: the lookup misses, nothing throws; a lasting refusal turns the cache off for the event: %s', async (_what, kind, lasting) => {
    const index = manifest('i', [digest(1)]);
    await cacheOn().store([index]);
    local.reset();
    local.faults.push({ kind });
    const cache = cacheOn();
    expect(await cache.lookup([index.digest])).toEqual(new Map());
    expect(cache.stats.causes).toHaveLength(1);
    expect(cache.stats.off !== undefined).toBe(lasting);
    // The next lookup: no call at all when off; otherwise the entry is found again.
    const again = await cache.lookup([index.digest]);
    expect(again.size).toBe(lasting ? 0 : 1);
    expect(local.requests('BatchGetItem')).toHaveLength(lasting ? 1 : 2);
    await cache.store([manifest('later')]);
    expect(cache.stats.unwritten).toBe(lasting ? 1 : 0);
  });

  test('no table: ResourceNotFoundException, the cache is off, and says why', async () => {
    const cache = cacheOn({ tableName: 'no-such-table' });
    expect(await cache.lookup([digest(1)])).toEqual(new Map());
    await cache.store([manifest('z')]);
    expect(cache.stats.off).toMatch(/^BatchGetItem on no-such-table: ResourceNotFoundException/);
    expect(cache.stats).toMatchObject({ misses: 1, unwritten: 1, calls: 1 });
  });

  test('an item of another format, for another digest, or malformed, is a miss', async () => {
    const table = local.store.table(TABLE);
    const good = manifest('good', [digest(1)]);
    await cacheOn().store([good]);
    const put = (key: string, item: Record<string, unknown>) => table.items.set(JSON.stringify([`S:${key}`]), item as never);
    put(digest(2), { Digest: { S: digest(2) }, V: { N: '2' }, Refs: { L: [] } });
    put(digest(3), { Digest: { S: digest(3) }, V: { N: CACHE_ITEM_FORMAT }, Refs: { L: [{ S: 'not a digest' }] } });
    put(digest(4), { Digest: { S: digest(4) }, V: { N: CACHE_ITEM_FORMAT } });
    put(digest(5), { Digest: { S: digest(5) }, V: { N: CACHE_ITEM_FORMAT }, Refs: { L: [] }, Subject: { N: '1' } });
    const cache = cacheOn();
    const found = await cache.lookup([good.digest, digest(2), digest(3), digest(4), digest(5)]);
    expect([...found.keys()]).toEqual([good.digest]);
    expect(cache.stats).toMatchObject({ hits: 1, misses: 4, malformed: 4 });
    expect(fromItem(digest(9), toItem(good))).toBeUndefined();
  });

  test('past the deadline, or aborted, no call is sent: everything misses', async () => {
    const past = cacheOn({ deadline: Date.now() - 1 });
    expect(await past.lookup([digest(1)])).toEqual(new Map());
    const abort = new AbortController();
    abort.abort();
    const aborted = cacheOn({ signal: abort.signal });
    await aborted.store([manifest('a')]);
    expect(local.requests()).toEqual([]);
    expect([past.stats.misses, aborted.stats.unwritten]).toEqual([1, 1]);
  });

  test('over any sequence of faults, a lookup answers only what was stored, exactly as stored', async () => {
    const kinds: DynamoFault['kind'][] = ['throttle', 'provisionedThroughput', 'serverError', 'drop', 'accessDenied', 'unprocessed'];
    const faultArb = fc.record({
      kind: fc.constantFrom(...kinds),
      count: fc.integer({ min: 1, max: 30 }),
      operation: fc.constantFrom(undefined, 'BatchGetItem', 'BatchWriteItem'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.array(faultArb, { maxLength: 8 }),
        async (stored, extra, faults) => {
          local.reset();
          local.store.table(TABLE).items.clear();
          const manifests = Array.from({ length: stored }, (_, i) =>
            manifest(`p${i}`, [digest(i), digest(i + 1)], i % 3 === 0 ? digest(i + 2) : undefined),
          );
          for (const fault of faults) {
            local.faults.push(
              fault.kind === 'unprocessed'
                ? { kind: 'unprocessed', count: fault.count, operation: fault.operation as never }
                : { kind: fault.kind, operation: fault.operation as never },
            );
          }
          const cache = cacheOn();
          await cache.store(manifests);
          const found = await cache.lookup([...manifests.map((m) => m.digest), ...Array.from({ length: extra }, (_, i) => digest(5000 + i))]);
          const byDigest = new Map(manifests.map((m) => [m.digest, factsOf(m)]));
          for (const [key, facts] of found) expect(facts).toEqual(byDigest.get(key));
          expect(cache.stats.hits + cache.stats.misses).toBe(stored + extra);
          expect(cache.stats.stored + cache.stats.unwritten).toBe(stored);
        },
      ),
      { numRuns: 40 },
    );
  });

  test('a cache that is off (no table in the function) misses everything and says why', async () => {
    delete process.env[REFERENCE_CACHE_TABLE_ENV];
    const cache = openStackReferenceCache();
    expect(await cache.lookup([digest(1), digest(1), digest(2)])).toEqual(new Map());
    await cache.store([manifest('a')]);
    expect(cache.stats).toMatchObject({
      looked: 2,
      misses: 2,
      unwritten: 1,
      off: `the function has no ${REFERENCE_CACHE_TABLE_ENV} (a stack deployed before the cache existed)`,
    });
    expect(cacheOff('why').stats.off).toBe('why');
  });

  test('store takes verified manifests only: a structural copy does not type-check', async () => {
    const cache = cacheOff('types only');
    const good = manifest('typed');
    // @ts-expect-error a plain object of the same shape is not a VerifiedManifest
    await cache.store([{ digest: good.digest, mediaType: good.mediaType, references: good.references, subject: good.subject }]);
    await cache.store([good]);
    expect(cache.stats.unwritten).toBe(2);
  });
});
