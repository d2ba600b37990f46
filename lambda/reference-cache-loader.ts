/**
 * Opens the stack's reference cache, loading reference-cache.js (the DynamoDB
 * client) on first use: it is a file of its own in the bundle
 * (lambda/bundle.mjs), as stack-state.js is, so that events that read no
 * manifest (declared image IDs) keep their cold start. The table's name comes
 * from the function's environment (REFERENCE_CACHE_TABLE, set by the
 * construct when a deletion of the stack has a selection).
 *
 * A function without the table (a stack deployed before it existed), or a
 * cache that cannot be loaded, gets a cache that is off: every lookup misses,
 * nothing is stored, and `stats.off` says why. The caller reads from the
 * registry what the cache does not know: no cache costs reads, never safety.
 */
import { REFERENCE_CACHE_TABLE_ENV } from '../lib/contract';
import type { CacheStats, ReferenceCache, ReferenceCacheOptions } from './reference-cache';

/** A cache that knows nothing and stores nothing, and says why. */
export function cacheOff(why: string): ReferenceCache {
  const stats: CacheStats = { looked: 0, hits: 0, misses: 0, malformed: 0, stored: 0, unwritten: 0, calls: 0, causes: [], off: why };
  return {
    stats,
    async lookup(digests) {
      const count = new Set(digests).size;
      stats.looked += count;
      stats.misses += count;
      return new Map();
    },
    async store(manifests) {
      stats.unwritten += new Set(manifests.map((m) => m.digest)).size;
    },
  };
}

/** The stack's reference cache, or one that is off (and why). */
export function openStackReferenceCache(options: Omit<ReferenceCacheOptions, 'tableName'> = {}): ReferenceCache {
  const tableName = process.env[REFERENCE_CACHE_TABLE_ENV];
  if (!tableName) return cacheOff(`the function has no ${REFERENCE_CACHE_TABLE_ENV} (a stack deployed before the cache existed)`);
  try {
    // require, not import(): the bundle is CommonJS, and Node's import() would want the file's extension.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openReferenceCache } = require('./reference-cache') as typeof import('./reference-cache');
    return openReferenceCache({ ...options, tableName });
  } catch (error) {
    return cacheOff(`the reference cache could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
  }
}
