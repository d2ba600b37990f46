/**
 * The registry reader: what manifests say (the digests an index references,
 * the media type, the `subject` of an OCI 1.1 referrer), read from the public
 * registry over the OCI distribution API. ECR Public's own API has no
 * BatchGetImage; the registry serves every manifest of a public repository at
 * `GET https://{host}/v2/{path}/manifests/{digest}`, after the standard
 * bearer-token challenge.
 *
 * - Authorized once per event, before the first manifest read: `GET /v2/`
 *   answers the challenge (no manifest request is spent on a 401), and the
 *   authorizer (registry-auth.ts) turns it into a bearer token of the
 *   authenticated class (ECR Public's GetAuthorizationToken, as Basic
 *   credentials to the realm) or, failing that, an anonymous one, and says why.
 * - Paced (registry-pacer.ts): every manifest request takes a slot of a token
 *   bucket below ECR Public's pull quota for the access it has (5 per second
 *   authenticated by default, 1 anonymous); a 429 halves the rate and holds the
 *   next request; Retry-After is honoured when sent, never relied on. Token
 *   requests and the `/v2/` ping are not pulls, and are not paced.
 * - Bounded by a deadline: no request starts past it. A manifest not read by
 *   then is "not read in this event" (NOT_READ), which the caller keeps as
 *   unknown and reads at the next event.
 *
 * It fetches and returns plain data, one value per digest: a VerifiedManifest
 * (bytes that hashed to the digest: the only value the reference cache
 * stores) or unknown, with the cause. What to delete is decided in select.ts.
 * It never throws for a manifest it cannot read.
 *
 * What it does not trust: an answer larger than MAX_MANIFEST_BYTES (read as a
 * stream, and cut off there), bytes that do not hash to the digest asked for,
 * a redirect (followed by hand, without the token when it leads to another
 * origin), a token the registry stops accepting (one new token per challenge,
 * shared by the reads in flight). Tokens and credentials are Secrets: no
 * cause, stat or log line holds one.
 */
import { DescribeRepositoriesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { parseBearerChallenge } from './bearer-challenge';
import { RequestPacer, registryReadRate } from './registry-pacer';
import { BearerToken, RealmAnswer, RegistryAccess, RegistryCredentials, registryAuthorizer } from './registry-auth';
import type { ManifestRead } from './select';
import { MAX_MANIFEST_BYTES, verifyManifest } from './verified-manifest';

export { parseBearerChallenge } from './bearer-challenge';
export type { BearerChallenge } from './bearer-challenge';
export { MAX_MANIFEST_BYTES } from './verified-manifest';

/** Environment variable that replaces the scheme and host of the repository URI (tests, demo, benchmarks). */
export const REGISTRY_ENDPOINT_ENV = 'ECR_PUBLIC_REGISTRY_ENDPOINT';

/** The manifest types a read accepts: OCI index, Docker manifest list, OCI manifest, Docker v2 manifest. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/**
 * Manifest reads in flight at once, at least: under the pacer, which sets
 * the rate, they only keep one slow answer from holding up the next slot.
 * Four sustain 5 reads a second with answers of up to 800 ms.
 */
export const DEFAULT_READ_CONCURRENCY = 4;

/** Manifest reads in flight at most, whatever the rate. */
export const MAX_READ_CONCURRENCY = 64;

/**
 * Reads in flight for a rate: enough to sustain it with answers of up to
 * 500 ms (ceil(rate / 2)), at least DEFAULT_READ_CONCURRENCY, at most
 * MAX_READ_CONCURRENCY. The pacer, not this, bounds the rate.
 */
export function readConcurrency(ratePerSecond: number): number {
  return Math.min(MAX_READ_CONCURRENCY, Math.max(DEFAULT_READ_CONCURRENCY, Math.ceil(ratePerSecond / 2)));
}

/** Redirects a read follows, at most (the fetch standard's limit is 20; a registry needs one). */
export const MAX_REDIRECTS = 5;

/**
 * Tokens one reader fetches, at most: the first, then a new one when the
 * registry refuses the one it has (expired: `invalid_token`; another scope:
 * `insufficient_scope`). Past that, reads are unknown rather than a loop of
 * token requests against a registry that refuses every token.
 */
export const MAX_TOKEN_FETCHES = 10;

/** Attempts per request that meet a 5xx or a network error, first included. */
export const MAX_READ_ATTEMPTS = 6;

/**
 * Attempts per manifest request answered 429, first included: the pacer
 * spaces them (each 429 halves its rate), so they end at the deadline or
 * here, whichever comes first.
 */
export const MAX_THROTTLED_ATTEMPTS = 10;

/** A request that gets no answer within this time is abandoned (and retried). */
export const READ_TIMEOUT_MS = 10_000;

/** First backoff after a 5xx or a network error; doubled each retry, with full jitter, at most MAX_BACKOFF_MS. */
const BASE_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5_000;

/**
 * The beginning of the cause of a manifest that was not read because the
 * deadline came first (the event's read budget ran out): unknown in this
 * event, read by the next one.
 */
export const NOT_READ = 'not read in this event';

/** Where a repository's manifests are served. */
export interface RegistryLocation {
  /** Scheme and host, e.g. `https://public.ecr.aws`. */
  readonly base: string;
  /** Repository path, e.g. `a1b2c3d4/my-app`. */
  readonly path: string;
}

/**
 * Splits a repository URI (`public.ecr.aws/a1b2c3d4/my-app`) into the
 * registry's base URL and the repository's path; `endpoint`, when given,
 * replaces the scheme and host.
 */
export function registryLocation(repositoryUri: string, endpoint?: string): RegistryLocation {
  const withoutScheme = repositoryUri.replace(/^[a-z]+:\/\//i, '');
  const slash = withoutScheme.indexOf('/');
  if (slash <= 0 || slash === withoutScheme.length - 1) {
    throw new Error(`repository URI "${repositoryUri}" has no host and path (expected e.g. public.ecr.aws/a1b2c3d4/my-app)`);
  }
  const base = endpoint ? endpoint.replace(/\/+$/, '') : `https://${withoutScheme.slice(0, slash)}`;
  return { base, path: withoutScheme.slice(slash + 1) };
}

/** The repository's URI, from DescribeRepositories. */
export async function repositoryUriOf(client: ECRPUBLICClient, repositoryName: string, registryId?: string, signal?: AbortSignal): Promise<string> {
  const answer = await client.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName], registryId }), { abortSignal: signal });
  const uri = answer.repositories?.[0]?.repositoryUri;
  if (!uri) throw new Error(`DescribeRepositories gave no repositoryUri for "${repositoryName}"`);
  return uri;
}

export interface RegistryOptions {
  /** Epoch milliseconds: no request starts, and no backoff waits, past it. */
  readonly deadline: number;
  readonly signal?: AbortSignal;
  /** Reads in flight at most. @default readConcurrency(the rate in force) */
  readonly concurrency?: number;
  /**
   * The realm's Basic credentials (GetAuthorizationToken), asked once, on
   * the first challenge. @default none: anonymous reads ("no credentials were given")
   */
  readonly credentials?: () => Promise<RegistryCredentials | { readonly refused: string }>;
  /** Reads per second when authenticated (`registryReadsPerSecond`). @default DEFAULT_REGISTRY_READS_PER_SECOND */
  readonly readsPerSecond?: number;
  /** For tests: the fetch to use, the clock, and how to wait. */
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** For tests: the jitter of the backoff, a number in [0, 1). */
  readonly random?: () => number;
}

/** What the reader did, for the log and the benchmarks. */
export interface RegistryStats {
  /** Manifests asked for (whatever the outcome). */
  manifests: number;
  /** HTTP requests sent, token requests, pings, redirects and retries included. */
  requests: number;
  /** Manifest requests sent (the pulls of ECR Public's quota), retries and redirects included. */
  pulls: number;
  /** Answers 429 received. */
  throttled: number;
  /** Tokens fetched: the first, and each new one after the registry refused the one in use. */
  tokens: number;
  /** Milliseconds the reads waited for the pacer's slots, summed over the reads in flight. */
  pacedWaitMs: number;
  /** Manifests not read because the deadline came first (their cause starts with NOT_READ). */
  notRead: number;
  /** How the reads were authorized; undefined before the first token. */
  access?: RegistryAccess;
  /** The pacer's ceiling, requests per second, for that access. */
  ratePerSecond?: number;
  /** Epoch ms of the first manifest request's slot, and the deadline: the window the reads had (for the log and the benchmarks). */
  firstPullAt?: number;
  readonly deadline: number;
}

/**
 * What a read gives for one digest: a VerifiedManifest (the reader's answers;
 * `VerifiedManifest.is` tells them from a plain value, which only a cache may
 * store), or why it is unknown.
 */
export type ManifestAnswer = ManifestRead;

/** Reads manifests of one repository; keeps its bearer token and its pacer for the event. */
export interface ManifestReader {
  /**
   * Reads the manifests, in the order given (what comes first is read
   * first when the deadline cuts the reads short); `onRead` is told each
   * answer as it comes, so that what was read is kept whatever happens next.
   */
  read(digests: readonly string[], onRead?: (digest: string, answer: ManifestAnswer) => void): Promise<Map<string, ManifestAnswer>>;
  readonly stats: Readonly<RegistryStats>;
}

/** A request's end: an answer (its body read only for a 200), or why none came (`budget`: the deadline came first). */
type Answer = { readonly response: Response; readonly body: Buffer } | { readonly cause: string; readonly budget?: boolean };

/** Milliseconds a `Retry-After` header asks to wait (seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** An answer larger than the reader accepts: not retried, unreadable. */
class TooLargeError extends Error {}

/** The body of an answer, read as a stream and abandoned past `limit` bytes. */
async function bodyOf(response: Response, limit: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new TooLargeError(`the answer is ${declared} bytes, more than the ${limit} a manifest read accepts`);
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new TooLargeError(`the answer is more than the ${limit} bytes a manifest read accepts`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

const isRedirect = (status: number) => [301, 302, 303, 307, 308].includes(status);

/** Opens a reader on the repository at `location`. Nothing is sent until `read`. */
export function openRegistry(location: RegistryLocation, options: RegistryOptions): ManifestReader {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const stats: RegistryStats = {
    manifests: 0,
    requests: 0,
    pulls: 0,
    throttled: 0,
    tokens: 0,
    pacedWaitMs: 0,
    notRead: 0,
    deadline: options.deadline,
  };
  const registryOrigin = new URL(location.base).origin;
  const authorizer = registryAuthorizer({
    registryBase: location.base,
    repositoryPath: location.path,
    credentials: options.credentials ?? (async () => ({ refused: 'no credentials were given to the registry reader' })),
    get: realmGet,
  });
  /** The token in use (a promise while it is fetched), shared by every read; undefined: none asked for yet. */
  let authorization: Promise<BearerToken | { cause: string }> | undefined;
  /** The event's first authorization: the ping, then the challenge it got. Shared by the first reads. */
  let prepared: Promise<void> | undefined;
  /** The pacer for the access in force (a new one when the access changes). */
  let pacer: { readonly access: RegistryAccess['kind']; readonly pacer: RequestPacer } | undefined;
  /** After a 429 that sent Retry-After, no request starts before this time. */
  let pausedUntil = 0;
  /**
   * Why the registry's last answer was no answer (a network error, a timeout, a 5xx), until an answer comes: a
   * read the deadline then cuts short is unknown for that reason, not "not read in this event" (the budget).
   */
  let failing: string | undefined;

  /** The pacer of manifest requests: at the rate of the access the token gives (anonymous until one is known). */
  function pacerNow(): RequestPacer {
    const kind = stats.access?.kind ?? 'anonymous';
    if (pacer?.access !== kind) {
      const rate = registryReadRate(kind, options.readsPerSecond);
      pacer = { access: kind, pacer: new RequestPacer({ ratePerSecond: rate }, now) };
      stats.ratePerSecond = rate;
    }
    return pacer.pacer;
  }

  /**
   * One GET. Manifest requests (`paced`) wait for a slot of the pacer; a 429
   * is reported to it, which holds the next slot (no backoff of their own),
   * and honoured further when it sends Retry-After. 5xx and network errors
   * are retried after a jittered backoff, MAX_READ_ATTEMPTS in all. No
   * attempt starts past the deadline. Redirects are answers (followed by the
   * caller); the body is read only for a 200, and never past MAX_MANIFEST_BYTES.
   */
  async function get(url: string, headers: Record<string, string>, paced: boolean): Promise<Answer> {
    let lastCause = 'no attempt made';
    let failures = 0;
    let throttles = 0;
    for (;;) {
      if (failures >= MAX_READ_ATTEMPTS) return { cause: `${lastCause} (${failures} attempts)` };
      if (throttles >= MAX_THROTTLED_ATTEMPTS) return { cause: `${lastCause} (${throttles} attempts answered 429)` };
      const slot = paced ? pacerNow().reserve() : undefined;
      const startAt = Math.max(now(), pausedUntil, slot?.startAt ?? 0);
      if (paced) stats.firstPullAt ??= startAt;
      if (startAt >= options.deadline) {
        if (failures + throttles > 0) return { cause: `${lastCause}; the deadline for registry reads came before another attempt` };
        if (failing !== undefined) return { cause: `${failing}; the deadline for registry reads came before this read` };
        return { cause: `${NOT_READ}: the deadline for registry reads came first`, budget: true };
      }
      const wait = startAt - now();
      if (wait > 0) {
        if (paced) stats.pacedWaitMs += wait;
        await sleep(wait);
      }
      if (options.signal?.aborted) return { cause: `${lastCause}; the event stopped` };
      stats.requests++;
      if (paced) stats.pulls++;
      let response: Response;
      let body: Buffer = Buffer.alloc(0);
      try {
        const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(Math.min(READ_TIMEOUT_MS, options.deadline - now()))));
        const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
        response = await doFetch(url, { headers, signal, redirect: 'manual' });
        if (response.status === 200) body = await bodyOf(response, MAX_MANIFEST_BYTES);
        else await response.body?.cancel().catch(() => undefined);
      } catch (error) {
        if (error instanceof TooLargeError) return { cause: `GET ${url}: ${error.message}` };
        // fetch reports "fetch failed"; the reason (ECONNREFUSED, a timeout...) is its cause.
        const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
        const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
        lastCause = `GET ${url}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}${detail ? ` (${detail})` : ''}`;
        failing = lastCause;
        failures++;
        await backoff(failures);
        continue;
      }
      const asked = retryAfterMs(response.headers.get('retry-after'), now());
      failing = response.status >= 500 ? `GET ${url}: HTTP ${response.status}` : undefined;
      if (response.status === 429) {
        lastCause = `GET ${url}: HTTP 429`;
        stats.throttled++;
        throttles++;
        if (asked !== undefined) {
          if (now() + asked >= options.deadline) {
            return { cause: `${lastCause}, Retry-After ${Math.ceil(asked / 1000)} s is past the deadline for registry reads` };
          }
          pausedUntil = Math.max(pausedUntil, now() + asked);
        }
        // A manifest request's next attempt waits for the pacer, which the 429 slowed; a token request backs off.
        if (slot) pacerNow().throttled(slot);
        else if (asked === undefined) await backoff(throttles);
        continue;
      }
      if (slot) pacerNow().succeeded(slot);
      if (response.status >= 500) {
        lastCause = `GET ${url}: HTTP ${response.status}`;
        failures++;
        if (asked !== undefined && now() + asked < options.deadline) pausedUntil = Math.max(pausedUntil, now() + asked);
        else await backoff(failures);
        continue;
      }
      return { response, body };
    }
  }

  /** Waits before the next attempt: jittered exponential backoff, never past the deadline. */
  async function backoff(attempt: number): Promise<void> {
    const ms = Math.floor(random() * Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempt - 1)));
    if (now() + ms < options.deadline) await sleep(ms);
  }

  /**
   * The realm GET the authorizer uses: with credentials, one request whose
   * redirect is not followed (the credentials must not travel); without, a
   * request whose redirects are followed wherever they lead (it carries none).
   */
  async function realmGet(url: string, headers: Readonly<Record<string, string>>): Promise<RealmAnswer> {
    let target = new URL(url);
    let answer = await get(target.toString(), { ...headers }, false);
    for (let hops = 0; headers.authorization === undefined && !('cause' in answer) && isRedirect(answer.response.status); hops++) {
      const next = answer.response.headers.get('location');
      if (next === null) break;
      if (hops >= MAX_REDIRECTS) return { cause: `GET ${target.origin}${target.pathname}: more than ${MAX_REDIRECTS} redirects` };
      target = new URL(next, target);
      answer = await get(target.toString(), {}, false);
    }
    if ('cause' in answer) return { cause: answer.cause };
    return { status: answer.response.status, body: answer.body.toString('utf8') };
  }

  /** A token for the challenge, fetched once for every read waiting on it; its access becomes the reader's. */
  function tokenFor(challenge: string): Promise<BearerToken | { cause: string }> {
    stats.tokens++;
    authorization = authorizer.authorize(challenge).then((token) => {
      if ('header' in token) stats.access = token.access;
      return token;
    });
    return authorization;
  }

  /**
   * The token to send after a 401 that answered `sent` (undefined: none was
   * sent): the one in use if another read already replaced `sent`, else a new
   * one, fetched once for every read waiting on it.
   */
  function tokenAfter(sent: Promise<BearerToken | { cause: string }> | undefined, challenge: string): Promise<BearerToken | { cause: string }> {
    if (authorization !== undefined && authorization !== sent) return authorization;
    if (stats.tokens >= MAX_TOKEN_FETCHES) {
      return Promise.resolve({ cause: `the registry refused ${stats.tokens} tokens in this event; no more are asked for` });
    }
    return tokenFor(challenge);
  }

  /**
   * The event's first step, once: `GET /v2/` (not a pull), and a token for
   * the challenge it answers, so that the first manifest requests carry a
   * token and the pacer knows its rate. A registry that answers otherwise
   * (no challenge, an error) leaves the challenge to the first manifest read.
   */
  function prepare(): Promise<void> {
    prepared ??= (async () => {
      const answer = await get(`${location.base}/v2/`, {}, false);
      if ('cause' in answer || answer.response.status !== 401) return;
      const header = answer.response.headers.get('www-authenticate') ?? '';
      if (parseBearerChallenge(header)) await tokenFor(header);
    })();
    return prepared;
  }

  async function readOne(digest: string): Promise<ManifestAnswer> {
    stats.manifests++;
    await prepare();
    let url = `${location.base}/v2/${location.path}/manifests/${digest}`;
    let renewed = false;
    for (let hops = 0; ;) {
      // The token goes to the registry's origin only: never to the host a redirect leads to.
      const sameOrigin = new URL(url).origin === registryOrigin;
      const sent = sameOrigin ? authorization : undefined;
      const token = sent ? await sent : undefined;
      // A token that could not be fetched is final for every read (its cause says why).
      if (token !== undefined && !('header' in token)) return { unknown: token.cause };
      const headers: Record<string, string> = { accept: MANIFEST_ACCEPT, ...(token ? { authorization: token.header.reveal() } : {}) };
      const answer = await get(url, headers, true);
      if ('cause' in answer) {
        if (answer.budget) stats.notRead++;
        return { unknown: answer.cause };
      }
      const { response, body } = answer;
      const header = response.headers.get('www-authenticate') ?? '';
      // 401, or 403 for a scope the token lacks (RFC 6750 section 3.1): answer the challenge, on the registry's origin only.
      if (sameOrigin && (response.status === 401 || (response.status === 403 && /insufficient_scope/i.test(header)))) {
        const challenge = parseBearerChallenge(header);
        if (!challenge)
          return { unknown: `GET ${url}: HTTP ${response.status}, and a challenge this reader does not answer: ${header.slice(0, 200)}` };
        // A token refused (expired: invalid_token; another scope: insufficient_scope) is replaced once per read.
        if (renewed) return { unknown: `GET ${url}: HTTP ${response.status} with a new token (${challenge.params.error ?? 'no error given'})` };
        renewed = token !== undefined;
        const next = await tokenAfter(sent, header);
        if (!('header' in next)) return { unknown: next.cause };
        continue;
      }
      if (isRedirect(response.status)) {
        const target = response.headers.get('location');
        if (!target) return { unknown: `GET ${url}: HTTP ${response.status} without a Location` };
        if (++hops > MAX_REDIRECTS) return { unknown: `GET ${url}: more than ${MAX_REDIRECTS} redirects` };
        url = new URL(target, url).toString();
        continue;
      }
      if (response.status !== 200) return { unknown: `GET ${url}: HTTP ${response.status}` };
      // Content addressing: the bytes must be the manifest the listing named.
      const verified = verifyManifest(digest, body, response.headers.get('content-type') ?? undefined);
      return 'problem' in verified ? { unknown: `GET ${url}: ${verified.problem}` } : verified;
    }
  }

  return {
    stats,
    async read(digests, onRead) {
      const reads = new Map<string, ManifestAnswer>();
      const queue = [...new Set(digests)];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < queue.length) {
          const digest = queue[next++];
          const answer = await readOne(digest);
          reads.set(digest, answer);
          onRead?.(digest, answer);
        }
      };
      const concurrency = Math.max(1, options.concurrency ?? readConcurrency(registryReadRate('authenticated', options.readsPerSecond)));
      await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
      return reads;
    },
  };
}
