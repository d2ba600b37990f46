/**
 * What a selection knows of the manifests it needs: the reference cache
 * first, then the registry for what the cache does not know, each digest
 * asked once per event whatever the rounds.
 *
 * - The cache (reference-cache.ts) is looked up before any registry read;
 *   what it cannot tell (absent, unreadable, off) is read from the registry.
 * - The registry reader (registry.ts) reads in the order given, paced, until
 *   its deadline: what it has not read by then is unknown ("not read in this
 *   event"), and the next event continues from the cache.
 * - Only a VerifiedManifest (bytes that hashed to the digest) is stored, as
 *   it is read, 25 at a time (one BatchWriteItem), so that what an event read
 *   is kept even if the event dies later. Unknown answers are never stored.
 *
 * The cache and the reader are opened on the first read, so that an event
 * that reads nothing loads neither. Nothing here throws: a reader that cannot
 * be opened (DescribeRepositories refused, a URI without a path) makes every
 * manifest asked for unknown, with the cause; a cache that cannot be read or
 * written costs registry reads, never a decision.
 */
import type { CacheStats, ReferenceCache } from './reference-cache';
import { describeRegistryAccess } from './registry-auth';
import { ManifestReader, NOT_READ, RegistryStats } from './registry';
import type { ManifestRead } from './select';
import { VerifiedManifest } from './verified-manifest';

/** Manifests stored at once as they are read: one BatchWriteItem (25 items, reference-cache.ts's ITEMS_PER_WRITE). */
export const STORE_BATCH = 25;

/** What the manifest reads of an event did, for the log line and the reason. */
export interface ManifestReadsReport {
  /** Digests asked for, once each. */
  readonly asked: number;
  /** Answered by the reference cache. */
  readonly fromCache: number;
  /** Read from the registry (asked of the reader, whatever the outcome). */
  readonly fromRegistry: number;
  /** Left unread because the event's read deadline came first: the next event reads them. */
  readonly notRead: number;
  /** How the registry reads were authorized (and, when anonymous, why); absent when the registry was not asked. */
  readonly access?: string;
  /** The pacer's ceiling, manifest requests per second. */
  readonly ratePerSecond?: number;
  /** Manifest requests sent to the registry (ECR Public's pulls), retries included. */
  readonly pulls: number;
  /** Registry answers 429 (Too Many Requests). */
  readonly throttled: number;
  /** Seconds the registry reads waited for the pacer, summed over the reads in flight. */
  readonly pacedWaitSeconds: number;
  /** Seconds from the first registry read to the read deadline: the time the reads had (the read budget). */
  readonly readWindowSeconds?: number;
  /** Manifests written to the cache, and those that could not be. */
  readonly cacheStored: number;
  readonly cacheUnwritten: number;
  /** Why the cache is off for the event, if it is (each lookup then misses). */
  readonly cacheOff?: string;
}

export class ManifestReads {
  /** Digest -> what its manifest says, or why it is unknown; every digest ever asked has an entry. */
  readonly known = new Map<string, ManifestRead>();
  private reader: Promise<ManifestReader> | undefined;
  private cache: ReferenceCache | undefined;
  private fromCache = 0;
  private fromRegistry = 0;

  constructor(
    private readonly openReader: () => Promise<ManifestReader>,
    private readonly openCache: () => ReferenceCache,
  ) {}

  /** Learns these manifests (those not known yet), from the cache, then the registry in the order given. */
  async read(digests: readonly string[]): Promise<void> {
    const wanted = [...new Set(digests)].filter((digest) => !this.known.has(digest));
    if (wanted.length === 0) return;
    this.cache ??= this.openCache();
    const cached = await this.cache.lookup(wanted);
    for (const [digest, entry] of cached) {
      this.known.set(digest, {
        references: entry.references,
        ...(entry.mediaType !== undefined ? { mediaType: entry.mediaType } : {}),
        ...(entry.subject !== undefined ? { subject: entry.subject } : {}),
      });
    }
    this.fromCache += cached.size;
    const misses = wanted.filter((digest) => !cached.has(digest));
    if (misses.length === 0) return;
    this.fromRegistry += misses.length;

    const cache = this.cache;
    const stores: Array<Promise<void>> = [];
    let fresh: VerifiedManifest[] = [];
    const flush = () => {
      if (fresh.length > 0) stores.push(cache.store(fresh));
      fresh = [];
    };
    const learn = (digest: string, answer: ManifestRead) => {
      this.known.set(digest, answer);
      if (VerifiedManifest.is(answer)) {
        fresh.push(answer);
        if (fresh.length >= STORE_BATCH) flush();
      }
    };
    try {
      this.reader ??= this.openReader();
      const answers = await (await this.reader).read(misses, learn);
      // A reader that does not call back (a test's) still answers.
      for (const [digest, answer] of answers) if (!this.known.has(digest)) learn(digest, answer);
    } catch (error) {
      const cause = `registry not reachable: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
      for (const digest of misses) if (!this.known.has(digest)) this.known.set(digest, { unknown: cause });
    }
    flush();
    await Promise.all(stores);
    // Every digest gets an answer, so that the select-read loop ends.
    for (const digest of misses) if (!this.known.has(digest)) this.known.set(digest, { unknown: 'the reader gave no answer' });
  }

  /** Digests the registry could not give in this event because the read deadline came first. */
  get notRead(): number {
    return [...this.known.values()].filter((read) => 'unknown' in read && read.unknown.startsWith(NOT_READ)).length;
  }

  /** What the reads did, for the log line; the reader's figures once it was opened. */
  async report(): Promise<ManifestReadsReport> {
    const registry: RegistryStats | undefined = this.reader ? await this.reader.then((r) => r.stats).catch(() => undefined) : undefined;
    const cache: Partial<CacheStats> = this.cache?.stats ?? {};
    return {
      asked: this.known.size,
      fromCache: this.fromCache,
      fromRegistry: this.fromRegistry,
      notRead: this.notRead,
      ...(registry?.access ? { access: describeRegistryAccess(registry.access) } : {}),
      ...(registry?.ratePerSecond !== undefined ? { ratePerSecond: registry.ratePerSecond } : {}),
      pulls: registry?.pulls ?? 0,
      throttled: registry?.throttled ?? 0,
      pacedWaitSeconds: Math.round((registry?.pacedWaitMs ?? 0) / 100) / 10,
      ...(registry?.firstPullAt !== undefined && Number.isFinite(registry.deadline)
        ? { readWindowSeconds: Math.round((registry.deadline - registry.firstPullAt) / 100) / 10 }
        : {}),
      cacheStored: cache.stored ?? 0,
      cacheUnwritten: cache.unwritten ?? 0,
      ...(cache.off !== undefined ? { cacheOff: cache.off } : {}),
    };
  }
}
