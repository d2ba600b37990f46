/**
 * The reference cache: what each manifest references, by digest, in the
 * stack's DynamoDB table, so that an image index is read from the registry
 * once in its lifetime instead of once per event. A digest fixes its bytes,
 * so an entry never goes stale; it is written only from a VerifiedManifest
 * (bytes that hashed to the digest: verified-manifest.ts).
 *
 * A cache is an optimisation: whatever DynamoDB does (throttles, refuses,
 * loses the table, answers a malformed item), `lookup` answers what it could
 * read and leaves the rest out, which the caller reads from the registry, and
 * `store` counts what it could not write. Neither throws. A refusal that will
 * not change within the event (access denied, no such table) turns the cache
 * off for the rest of the event, so that it costs one call, not one per batch.
 *
 * Bundled as a file of its own (assets/handler/reference-cache.js) and
 * required on first use (reference-cache-loader.ts): only a selection needs
 * the DynamoDB client, and the cold start of other events does not pay for
 * it. `AWS_ENDPOINT_URL_DYNAMODB` redirects the client (tests, demo).
 *
 * Items: `Digest` (S, the key), `V` (N, the item format, 1), `Refs` (L of S,
 * the digests the manifest lists), `MediaType` (S) and `Subject` (S) when known.
 */
import {
  AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  KeysAndAttributes,
  WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { VerifiedManifest } from './verified-manifest';

/** The item format this code writes and reads; an item of another format is a miss. */
export const CACHE_ITEM_FORMAT = '1';

/** DynamoDB's limits (API model): 100 keys a BatchGetItem, 25 writes a BatchWriteItem. */
export const KEYS_PER_READ = 100;
export const ITEMS_PER_WRITE = 25;

/** Calls in flight at once. */
export const CACHE_CONCURRENCY = 4;

/** Attempts of one batch whose keys or writes come back unprocessed (the SDK retries errors on its own). */
export const BATCH_ATTEMPTS = 5;

/** SDK attempts per call: the cache is an optimisation, its retries stay short. */
export const CACHE_CALL_ATTEMPTS = 3;

const BASE_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1_000;

/** Causes the stats keep, at most. */
const MAX_CAUSES = 5;

/** Errors that will not go away within the event: the cache is off after one. */
const LASTING_ERRORS = ['AccessDeniedException', 'ResourceNotFoundException', 'UnrecognizedClientException', 'ValidationException'];

/** What the cache knows of one manifest. */
export interface CachedManifest {
  readonly digest: string;
  readonly mediaType?: string;
  readonly references: readonly string[];
  readonly subject?: string;
}

/** What the cache did, for the log and the benchmarks. */
export interface CacheStats {
  /** Digests looked up (once each). */
  looked: number;
  hits: number;
  /** Looked up and not found, or not read (an error, unprocessed keys). */
  misses: number;
  /** Items found but not of this code's format, or malformed: counted as misses too. */
  malformed: number;
  /** Manifests written. */
  stored: number;
  /** Manifests that could not be written. */
  unwritten: number;
  /** BatchGetItem and BatchWriteItem calls sent. */
  calls: number;
  /** Why reads or writes failed (the first few). */
  causes: string[];
  /** Why the cache is off for the rest of the event, if it is. */
  off?: string;
}

/** The subset of the DynamoDB client the cache calls (a test may give a fake). */
export interface CacheClient {
  send(command: BatchGetItemCommand | BatchWriteItemCommand, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

export interface ReferenceCacheOptions {
  readonly tableName: string;
  /** @default the function's DynamoDB client, in AWS_REGION */
  readonly client?: CacheClient;
  readonly signal?: AbortSignal;
  /** Epoch milliseconds: no call starts, and no backoff waits, past it. @default none */
  readonly deadline?: number;
  /** For tests: the clock, how to wait, and the jitter of the backoff. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface ReferenceCache {
  /** What the table knows of these digests; a digest it cannot tell (absent, unreadable, malformed) is left out. Never throws. */
  lookup(digests: readonly string[]): Promise<Map<string, CachedManifest>>;
  /** Writes these manifests; what cannot be written is counted, never thrown. */
  store(manifests: readonly VerifiedManifest[]): Promise<void>;
  readonly stats: Readonly<CacheStats>;
}

const clients = new Map<string, DynamoDBClient>();

/** The function's DynamoDB client, one per region, kept across warm invocations. */
function clientFor(region: string): DynamoDBClient {
  let client = clients.get(region);
  if (!client) {
    client = new DynamoDBClient({
      region,
      credentials: fromEnv(),
      maxAttempts: CACHE_CALL_ATTEMPTS,
      requestHandler: { requestTimeout: 3_000, connectionTimeout: 1_000 },
    });
    clients.set(region, client);
  }
  return client;
}

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** An item as the table holds it. */
export function toItem(manifest: VerifiedManifest): Record<string, AttributeValue> {
  return {
    Digest: { S: manifest.digest },
    V: { N: CACHE_ITEM_FORMAT },
    Refs: { L: manifest.references.map((S) => ({ S })) },
    ...(manifest.mediaType !== undefined ? { MediaType: { S: manifest.mediaType } } : {}),
    ...(manifest.subject !== undefined ? { Subject: { S: manifest.subject } } : {}),
  };
}

/** What an item says of `digest`, or undefined when it is not an item of this format for that digest. */
export function fromItem(digest: string, item: Record<string, AttributeValue> | undefined): CachedManifest | undefined {
  if (item?.Digest?.S !== digest || item.V?.N !== CACHE_ITEM_FORMAT) return undefined;
  const list = item.Refs?.L;
  if (!Array.isArray(list)) return undefined;
  const references: string[] = [];
  for (const entry of list) {
    if (typeof entry?.S !== 'string' || !DIGEST.test(entry.S)) return undefined;
    references.push(entry.S);
  }
  const mediaType = item.MediaType === undefined ? undefined : item.MediaType.S;
  const subject = item.Subject === undefined ? undefined : item.Subject.S;
  if (
    (item.MediaType !== undefined && typeof mediaType !== 'string') ||
    (item.Subject !== undefined && !(typeof subject === 'string' && DIGEST.test(subject)))
  ) {
    return undefined;
  }
  return { digest, references, ...(mediaType !== undefined ? { mediaType } : {}), ...(subject !== undefined ? { subject } : {}) };
}

/** Opens the cache on the table. Nothing is sent until `lookup` or `store`. */
export function openReferenceCache(options: ReferenceCacheOptions): ReferenceCache {
  const { tableName } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const stats: CacheStats = { looked: 0, hits: 0, misses: 0, malformed: 0, stored: 0, unwritten: 0, calls: 0, causes: [] };
  let client: CacheClient | undefined = options.client;

  const usable = () => stats.off === undefined && !options.signal?.aborted && now() < deadline;

  function failed(error: unknown, what: string): void {
    const name = (error as { name?: unknown } | undefined)?.name;
    const message = error instanceof Error ? error.message : String(error);
    const cause = `${what}: ${typeof name === 'string' ? `${name}: ` : ''}${message}`.slice(0, 300);
    if (stats.causes.length < MAX_CAUSES) stats.causes.push(cause);
    if (typeof name === 'string' && LASTING_ERRORS.includes(name)) stats.off = cause;
  }

  /** Waits before another attempt of a batch: jittered exponential backoff, never past the deadline. False when there is no time. */
  async function backoff(attempt: number): Promise<boolean> {
    const ms = Math.floor(random() * Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt));
    if (now() + ms >= deadline) return false;
    await sleep(ms);
    return usable();
  }

  /** Runs the batches with CACHE_CONCURRENCY in flight. */
  async function pool<T>(batches: T[], run: (batch: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < batches.length) await run(batches[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(CACHE_CONCURRENCY, batches.length) }, worker));
  }

  const chunks = <T>(list: readonly T[], size: number): T[][] =>
    Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, i * size + size));

  function send(command: BatchGetItemCommand | BatchWriteItemCommand): Promise<unknown> {
    client ??= clientFor(process.env.AWS_REGION ?? 'us-east-1');
    stats.calls++;
    return client.send(command, { abortSignal: options.signal });
  }

  return {
    stats,

    async lookup(digests) {
      const found = new Map<string, CachedManifest>();
      const wanted = [...new Set(digests)];
      stats.looked += wanted.length;
      await pool(chunks(wanted, KEYS_PER_READ), async (batch) => {
        let keys: KeysAndAttributes['Keys'] = batch.map((digest) => ({ Digest: { S: digest } }));
        for (let attempt = 0; keys && keys.length > 0 && attempt < BATCH_ATTEMPTS && usable(); attempt++) {
          if (attempt > 0 && !(await backoff(attempt))) break;
          let answer: { Responses?: Record<string, Array<Record<string, AttributeValue>>>; UnprocessedKeys?: Record<string, KeysAndAttributes> };
          try {
            answer = (await send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys } } }))) as typeof answer;
          } catch (error) {
            failed(error, `BatchGetItem on ${tableName}`);
            break;
          }
          for (const item of answer.Responses?.[tableName] ?? []) {
            const digest = item.Digest?.S;
            if (digest === undefined || !batch.includes(digest)) continue;
            const entry = fromItem(digest, item);
            if (entry) found.set(digest, entry);
            else stats.malformed++;
          }
          keys = answer.UnprocessedKeys?.[tableName]?.Keys;
        }
      });
      stats.hits += found.size;
      stats.misses += wanted.length - found.size;
      return found;
    },

    async store(manifests) {
      const unique = [...new Map(manifests.map((manifest) => [manifest.digest, manifest])).values()];
      await pool(chunks(unique, ITEMS_PER_WRITE), async (batch) => {
        let requests: WriteRequest[] | undefined = batch.map((manifest) => ({ PutRequest: { Item: toItem(manifest) } }));
        for (let attempt = 0; requests && requests.length > 0 && attempt < BATCH_ATTEMPTS && usable(); attempt++) {
          if (attempt > 0 && !(await backoff(attempt))) break;
          const sent: WriteRequest[] = requests;
          try {
            const answer = (await send(new BatchWriteItemCommand({ RequestItems: { [tableName]: sent } }))) as {
              UnprocessedItems?: Record<string, WriteRequest[]>;
            };
            requests = answer.UnprocessedItems?.[tableName];
          } catch (error) {
            failed(error, `BatchWriteItem on ${tableName}`);
            break;
          }
          stats.stored += sent.length - (requests?.length ?? 0);
        }
        stats.unwritten += requests?.length ?? 0;
      });
    },
  };
}
