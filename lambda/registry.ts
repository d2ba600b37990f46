/**
 * The registry reader: what manifests say (the digests an index references,
 * the media type, the `subject` of an OCI 1.1 referrer), read from the public
 * registry over the OCI distribution API. ECR Public's own API has no
 * BatchGetImage; the registry serves every manifest of a public repository at
 * `GET https://{host}/v2/{path}/manifests/{digest}`, anonymously, after the
 * standard bearer-token challenge.
 *
 * It fetches and returns plain data, one value per digest (a ManifestRead: a
 * cache can hold it); what to delete is decided in select.ts. It never throws
 * for a manifest it cannot read: that manifest is "unknown", with the cause,
 * and the decision keeps what it might protect.
 *
 * What it does not trust: an answer larger than MAX_MANIFEST_BYTES (read as a
 * stream, and cut off there), bytes that do not hash to the digest asked for,
 * a redirect (followed by hand, without the token when it leads to another
 * origin), a token the registry stops accepting (one new token per challenge,
 * shared by the reads in flight).
 */
import { createHash } from 'node:crypto';
import { DescribeRepositoriesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import type { ManifestRead } from './select';

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
 * Manifest reads in flight at once. ECR Public's quotas page
 * (docs.aws.amazon.com/AmazonECR/latest/public/public-service-quotas.html)
 * limits image pulls per IP address: 1 per second unauthenticated, 10 per
 * second authenticated; it does not say whether a manifest read by digest
 * counts as a pull. Four in flight reach the authenticated rate at 400 ms a
 * read and do not queue behind one slow answer; when the registry answers
 * 429, every reader waits for its Retry-After before the next request, or,
 * without one, backs off (jittered, exponential): nothing relies on it.
 */
export const DEFAULT_READ_CONCURRENCY = 4;

/**
 * Largest manifest a read accepts, in bytes. The OCI distribution spec asks
 * registries to accept manifests of at least 4 MiB
 * (github.com/opencontainers/distribution-spec, spec.md, "Pushing Manifests"),
 * and ECR Public's PutImage takes at most 4,194,304 characters (API model,
 * ImageManifest): a larger answer is not a manifest of the repository, and is
 * unreadable, whatever sent it (a proxy, a redirect).
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Redirects a read follows, at most (the fetch standard's limit is 20; a registry needs one). */
export const MAX_REDIRECTS = 5;

/**
 * Tokens one reader fetches, at most: the first, then a new one when the
 * registry refuses the one it has (expired: `invalid_token`; another scope:
 * `insufficient_scope`). Past that, reads are unknown rather than a loop of
 * token requests against a registry that refuses every token.
 */
export const MAX_TOKEN_FETCHES = 10;

/** Attempts per request, first included (429, 5xx and network errors are retried). */
export const MAX_READ_ATTEMPTS = 6;

/** A request that gets no answer within this time is abandoned (and retried). */
export const READ_TIMEOUT_MS = 10_000;

/** First backoff; doubled each retry, with full jitter, at most MAX_BACKOFF_MS. */
const BASE_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5_000;

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
  readonly concurrency?: number;
  /** For tests: the fetch to use, the clock, and how to wait. */
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** For tests: the jitter of the backoff, a number in [0, 1). */
  readonly random?: () => number;
}

/** What the reader did, for the log and the benchmarks. */
export interface RegistryStats {
  /** Manifests read (whatever the outcome). */
  manifests: number;
  /** HTTP requests sent, token requests, redirects and retries included. */
  requests: number;
  /** Answers 429 received. */
  throttled: number;
  /** Tokens fetched: the first, and each new one after the registry refused the one in use. */
  tokens: number;
}

/** Reads manifests of one repository; keeps its bearer token for the event. */
export interface ManifestReader {
  read(digests: readonly string[]): Promise<Map<string, ManifestRead>>;
  readonly stats: Readonly<RegistryStats>;
}

/** A request's end: an answer (its body read only for a 200), or why none came. */
type Answer = { readonly response: Response; readonly body: Buffer } | { readonly cause: string };

/** A parsed `WWW-Authenticate: Bearer …` challenge. */
export interface BearerChallenge {
  readonly realm: string;
  /** The other auth-params, names lower-cased (service, scope, error…). */
  readonly params: Record<string, string>;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/**
 * The Bearer challenge of a `WWW-Authenticate` header (RFC 7235 section 4.1,
 * RFC 6750 section 3): among other challenges, its auth-params in any order,
 * each a token or a quoted-string (with quoted-pairs), names matched without
 * regard to case. Undefined without a Bearer challenge or its realm.
 */
export function parseBearerChallenge(header: string): BearerChallenge | undefined {
  let at = 0;
  const skip = (pattern: RegExp) => {
    while (at < header.length && pattern.test(header[at])) at++;
  };
  const token = () => {
    const start = at;
    while (at < header.length && TCHAR.test(header[at])) at++;
    return header.slice(start, at);
  };
  while (at < header.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === '') return undefined;
    const params: Record<string, string> = {};
    // auth-params: name BWS "=" BWS (token / quoted-string), separated by commas; a name not followed by "=" starts the next challenge.
    for (;;) {
      const save = at;
      skip(/[\s,]/);
      const name = token();
      skip(/[ \t]/);
      if (name === '' || header[at] !== '=') {
        at = save;
        break;
      }
      at++;
      skip(/[ \t]/);
      let value = '';
      if (header[at] === '"') {
        for (at++; at < header.length && header[at] !== '"'; at++) value += header[at] === '\\' && at + 1 < header.length ? header[++at] : header[at];
        at++;
      } else {
        value = token();
      }
      params[name.toLowerCase()] = value;
    }
    if (scheme.toLowerCase() === 'bearer') {
      const { realm, ...rest } = params;
      return realm ? { realm, params: rest } : undefined;
    }
    // Another scheme's token68 or params: on to the next challenge.
    skip(/[^,]/);
  }
  return undefined;
}

/** Milliseconds a `Retry-After` header asks to wait (seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The digests an index manifest references; none for an image manifest. */
export function referencesIn(manifest: unknown): string[] {
  const entries = (manifest as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(entries)) return [];
  return entries.map((entry: { digest?: unknown }) => {
    if (typeof entry?.digest !== 'string') throw new Error('an entry of "manifests" has no digest');
    return entry.digest;
  });
}

/**
 * What a manifest says, as a plain value: what it references, its media type
 * (its own field, else the Content-Type it was served with), and the digest
 * its `subject` names (OCI image spec 1.1, "subject": the manifest it refers
 * to, for signatures, SBOMs and attestations). Throws on what is not a manifest.
 */
export function manifestFacts(manifest: unknown, contentType?: string): { references: string[]; mediaType?: string; subject?: string } {
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw new Error('not a JSON object');
  const { mediaType, subject } = manifest as { mediaType?: unknown; subject?: unknown };
  let subjectDigest: string | undefined;
  if (subject !== undefined && subject !== null) {
    const digest = (subject as { digest?: unknown }).digest;
    if (typeof digest !== 'string' || digest === '') throw new Error('"subject" has no digest');
    subjectDigest = digest;
  }
  const served = contentType?.split(';')[0].trim() || undefined;
  return {
    references: referencesIn(manifest),
    ...(typeof mediaType === 'string' ? { mediaType } : served ? { mediaType: served } : {}),
    ...(subjectDigest !== undefined ? { subject: subjectDigest } : {}),
  };
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
  const stats: RegistryStats = { manifests: 0, requests: 0, throttled: 0, tokens: 0 };
  const registryOrigin = new URL(location.base).origin;
  /** The token in use (a promise while it is fetched), shared by every read. */
  let authorization: Promise<string | { cause: string }> | undefined;
  /** After a 429, no request starts before this time. */
  let pausedUntil = 0;

  /**
   * One GET, retried on 429, 5xx and network errors until MAX_READ_ATTEMPTS or
   * the deadline. Redirects are answers (followed by the caller); the body is
   * read only for a 200, and never past MAX_MANIFEST_BYTES.
   */
  async function get(url: string, headers: Record<string, string>): Promise<Answer> {
    let lastCause = 'no attempt made';
    for (let attempt = 1; attempt <= MAX_READ_ATTEMPTS; attempt++) {
      const wait = Math.max(0, pausedUntil - now());
      if (now() + wait >= options.deadline) {
        return { cause: `${lastCause}; the event's deadline for registry reads came before another attempt` };
      }
      if (wait > 0) await sleep(wait);
      if (options.signal?.aborted) return { cause: `${lastCause}; the event stopped` };
      stats.requests++;
      let response: Response;
      let body: Buffer = Buffer.alloc(0);
      try {
        const timeout = AbortSignal.timeout(Math.max(1, Math.min(READ_TIMEOUT_MS, options.deadline - now())));
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
        await backoff(attempt, undefined);
        continue;
      }
      if (response.status === 429 || response.status >= 500) {
        lastCause = `GET ${url}: HTTP ${response.status}`;
        const asked = retryAfterMs(response.headers.get('retry-after'), now());
        if (response.status === 429) {
          stats.throttled++;
          if (asked !== undefined && now() + asked >= options.deadline) {
            return { cause: `${lastCause}, Retry-After ${Math.ceil(asked / 1000)} s is past the event's deadline for registry reads` };
          }
        }
        await backoff(attempt, asked);
        continue;
      }
      return { response, body };
    }
    return { cause: `${lastCause} (${MAX_READ_ATTEMPTS} attempts)` };
  }

  /** Waits before the next attempt: Retry-After when given (then for every reader), else jittered exponential backoff. */
  async function backoff(attempt: number, askedMs: number | undefined): Promise<void> {
    if (askedMs !== undefined) {
      pausedUntil = Math.max(pausedUntil, now() + askedMs);
      return;
    }
    const ms = Math.floor(random() * Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempt - 1)));
    if (now() + ms < options.deadline) await sleep(ms);
  }

  /** Fetches the bearer token a challenge asks for (its scope, or the repository's pull scope). */
  async function fetchToken(challenge: BearerChallenge): Promise<string | { cause: string }> {
    let url: URL;
    try {
      url = new URL(challenge.realm);
    } catch {
      return { cause: `the registry's challenge names a realm that is not a URL: ${challenge.realm.slice(0, 200)}` };
    }
    for (const [name, value] of Object.entries(challenge.params)) {
      if (name !== 'error' && name !== 'error_description' && name !== 'error_uri') url.searchParams.set(name, value);
    }
    if (!challenge.params.scope) url.searchParams.set('scope', `repository:${location.path}:pull`);
    // The token request carries no credential: its redirects are followed wherever they lead.
    let answer = await get(url.toString(), {});
    for (let hops = 0; !('cause' in answer) && isRedirect(answer.response.status) && answer.response.headers.has('location'); hops++) {
      if (hops >= MAX_REDIRECTS) return { cause: `token request GET ${url}: more than ${MAX_REDIRECTS} redirects` };
      url = new URL(answer.response.headers.get('location') as string, url);
      answer = await get(url.toString(), {});
    }
    if ('cause' in answer) return { cause: `token request: ${answer.cause}` };
    if (answer.response.status !== 200) return { cause: `token request GET ${url}: HTTP ${answer.response.status}` };
    try {
      const json = JSON.parse(answer.body.toString('utf8')) as { token?: unknown; access_token?: unknown };
      const token = json.token ?? json.access_token;
      if (typeof token !== 'string' || token === '') return { cause: `token request GET ${url}: the answer has no token` };
      return `Bearer ${token}`;
    } catch {
      return { cause: `token request GET ${url}: the answer is not JSON` };
    }
  }

  /**
   * The token to send after a 401 that answered `sent` (undefined: none was
   * sent): the one in use if another read already replaced `sent`, else a new
   * one, fetched once for every read waiting on it.
   */
  function tokenAfter(sent: Promise<string | { cause: string }> | undefined, challenge: BearerChallenge): Promise<string | { cause: string }> {
    if (authorization !== undefined && authorization !== sent) return authorization;
    if (stats.tokens >= MAX_TOKEN_FETCHES) {
      return Promise.resolve({ cause: `the registry refused ${stats.tokens} tokens in this event; no more are asked for` });
    }
    stats.tokens++;
    authorization = fetchToken(challenge);
    return authorization;
  }

  async function readOne(digest: string): Promise<ManifestRead> {
    stats.manifests++;
    let url = `${location.base}/v2/${location.path}/manifests/${digest}`;
    let renewed = false;
    for (let hops = 0; ;) {
      // The token goes to the registry's origin only: never to the host a redirect leads to.
      const sameOrigin = new URL(url).origin === registryOrigin;
      const sent = sameOrigin ? authorization : undefined;
      const token = sent ? await sent : undefined;
      // A token that could not be fetched is final for every read (its cause says why).
      if (token !== undefined && typeof token !== 'string') return { unknown: token.cause };
      const headers: Record<string, string> = { accept: MANIFEST_ACCEPT, ...(typeof token === 'string' ? { authorization: token } : {}) };
      const answer = await get(url, headers);
      if ('cause' in answer) return { unknown: answer.cause };
      const { response, body } = answer;
      const header = response.headers.get('www-authenticate') ?? '';
      // 401, or 403 for a scope the token lacks (RFC 6750 section 3.1): answer the challenge, on the registry's origin only.
      if (sameOrigin && (response.status === 401 || (response.status === 403 && /insufficient_scope/i.test(header)))) {
        const challenge = parseBearerChallenge(header);
        if (!challenge)
          return { unknown: `GET ${url}: HTTP ${response.status}, and a challenge this reader does not answer: ${header.slice(0, 200)}` };
        // A token refused (expired: invalid_token; another scope: insufficient_scope) is replaced once per read.
        if (renewed) return { unknown: `GET ${url}: HTTP ${response.status} with a new token (${challenge.params.error ?? 'no error given'})` };
        renewed = typeof token === 'string';
        const next = await tokenAfter(sent, challenge);
        if (typeof next !== 'string') return { unknown: next.cause };
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
      if (digest.startsWith('sha256:')) {
        const served = `sha256:${createHash('sha256').update(body).digest('hex')}`;
        if (served !== digest) return { unknown: `GET ${url}: the registry served a manifest with digest ${served}` };
      }
      try {
        return manifestFacts(JSON.parse(body.toString('utf8')), response.headers.get('content-type') ?? undefined);
      } catch (error) {
        return { unknown: `GET ${url}: not a manifest (${error instanceof Error ? error.message : String(error)})` };
      }
    }
  }

  return {
    stats,
    async read(digests) {
      const reads = new Map<string, ManifestRead>();
      const queue = [...new Set(digests)];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < queue.length) {
          const digest = queue[next++];
          reads.set(digest, await readOne(digest));
        }
      };
      const concurrency = Math.max(1, options.concurrency ?? DEFAULT_READ_CONCURRENCY);
      await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
      return reads;
    },
  };
}
