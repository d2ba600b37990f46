/**
 * The registry reader: what image indexes reference, read from the public
 * registry over the OCI distribution API. ECR Public's own API has no
 * BatchGetImage; the registry serves every manifest of a public repository at
 * `GET https://{host}/v2/{path}/manifests/{digest}`, anonymously, after the
 * standard bearer-token challenge.
 *
 * It fetches and returns plain data (digest -> references, or why they are
 * unknown); what to delete is decided in select.ts. It never throws for a
 * manifest it cannot read: that manifest's references are "unknown", and the
 * decision keeps what they might protect.
 */
import { createHash } from 'node:crypto';
import { DescribeRepositoriesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import type { ReferenceRead } from './select';

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
 * 429, every reader waits for its Retry-After before the next request.
 */
export const DEFAULT_READ_CONCURRENCY = 4;

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
  /** HTTP requests sent, token requests and retries included. */
  requests: number;
  /** Answers 429 received. */
  throttled: number;
}

/** Reads manifests of one repository; keeps its bearer token for the event. */
export interface ManifestReader {
  read(digests: readonly string[]): Promise<Map<string, ReferenceRead>>;
  readonly stats: Readonly<RegistryStats>;
}

/** A request's end: an answer, or why none came. */
type Answer = { readonly response: Response; readonly body: Buffer } | { readonly cause: string };

/** Parses `Bearer realm="…",service="…",scope="…"`. */
export function parseBearerChallenge(header: string): { realm: string; params: Record<string, string> } | undefined {
  const match = /^\s*Bearer\s+(.*)$/i.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const part of match[1].matchAll(/([a-z_]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/gi)) {
    params[part[1].toLowerCase()] = part[2] ?? part[3];
  }
  const { realm, ...rest } = params;
  return realm ? { realm, params: rest } : undefined;
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

/** Opens a reader on the repository at `location`. Nothing is sent until `read`. */
export function openRegistry(location: RegistryLocation, options: RegistryOptions): ManifestReader {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const stats: RegistryStats = { manifests: 0, requests: 0, throttled: 0 };
  let authorization: Promise<string | { cause: string }> | undefined;
  /** After a 429, no request starts before this time. */
  let pausedUntil = 0;

  /** One GET, retried on 429, 5xx and network errors until MAX_READ_ATTEMPTS or the deadline. */
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
      let body: Buffer;
      try {
        const timeout = AbortSignal.timeout(Math.max(1, Math.min(READ_TIMEOUT_MS, options.deadline - now())));
        const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
        response = await doFetch(url, { headers, signal, redirect: 'follow' });
        body = Buffer.from(await response.arrayBuffer());
      } catch (error) {
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

  /** The bearer token the challenge asks for, fetched once per reader. */
  function authorize(challenge: string): Promise<string | { cause: string }> {
    authorization ??= (async () => {
      const parsed = parseBearerChallenge(challenge);
      if (!parsed) return { cause: `the registry asked for authentication this reader does not do: ${challenge.slice(0, 200)}` };
      const url = new URL(parsed.realm);
      for (const [name, value] of Object.entries(parsed.params)) url.searchParams.set(name, value);
      if (!parsed.params.scope) url.searchParams.set('scope', `repository:${location.path}:pull`);
      const answer = await get(url.toString(), {});
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
    })();
    return authorization;
  }

  async function readOne(digest: string): Promise<ReferenceRead> {
    stats.manifests++;
    const url = `${location.base}/v2/${location.path}/manifests/${digest}`;
    const headers: Record<string, string> = { accept: MANIFEST_ACCEPT };
    let answer = await get(url, authorization ? await withToken(headers) : headers);
    if (!('cause' in answer) && answer.response.status === 401) {
      const token = await authorize(answer.response.headers.get('www-authenticate') ?? '');
      if (typeof token !== 'string') return { unknown: token.cause };
      answer = await get(url, { ...headers, authorization: token });
    }
    if ('cause' in answer) return { unknown: answer.cause };
    const { response, body } = answer;
    if (response.status !== 200) return { unknown: `GET ${url}: HTTP ${response.status}` };
    // Content addressing: the bytes must be the manifest the listing named.
    if (digest.startsWith('sha256:')) {
      const served = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      if (served !== digest) return { unknown: `GET ${url}: the registry served a manifest with digest ${served}` };
    }
    try {
      return { references: referencesIn(JSON.parse(body.toString('utf8'))) };
    } catch (error) {
      return { unknown: `GET ${url}: not a manifest (${error instanceof Error ? error.message : String(error)})` };
    }
  }

  async function withToken(headers: Record<string, string>): Promise<Record<string, string>> {
    const token = await authorization;
    return typeof token === 'string' ? { ...headers, authorization: token } : headers;
  }

  return {
    stats,
    async read(digests) {
      const reads = new Map<string, ReferenceRead>();
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
