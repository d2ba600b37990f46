/**
 * The registry API that the public registry (public.ecr.aws) serves, as far as
 * reading manifests goes (OCI distribution spec, "pull"):
 *
 * - `GET|HEAD /v2/<alias>/<repository>/manifests/<digest|tag>`: the exact bytes
 *   pushed, with Content-Type and Docker-Content-Digest; 404 MANIFEST_UNKNOWN
 *   for an unknown reference, 404 NAME_UNKNOWN for an unknown repository;
 * - Accept negotiation as the CNCF distribution registry (2.8) does it, which
 *   test/emulator/cross-check-distribution.test.ts compares: an OCI index or
 *   manifest only when Accept lists its exact type (else 404 MANIFEST_UNKNOWN;
 *   `*\/*` admits nothing); Docker types by digest whatever Accept says; a
 *   Docker manifest list by tag, to a client that does not accept lists, as
 *   its linux/amd64 image if Accept lists Docker v2 manifests, else 400
 *   MANIFEST_INVALID (the registry's failed conversion to schema 1);
 * - the bearer challenge: without a token, 401 with
 *   `WWW-Authenticate: Bearer realm="<endpoint>/token",service="public.ecr.aws",scope="aws"`;
 *   `GET /token` answers `{"token": …}`, which the emulator then accepts: an
 *   anonymous token without credentials, an authenticated one for Basic
 *   `AWS:<password>` from GetAuthorizationToken (credentials.ts);
 * - the pull quotas, when set (pull-quota.ts): a manifest GET or HEAD over its
 *   class's rate is answered 429 TOOMANYREQUESTS, without Retry-After.
 *
 * What the field does and a client must cope with, each a switch of
 * RegistryBehaviour: a token that expires (401 `error="invalid_token"`,
 * RFC 6750 section 3.1), a token whose scope does not cover the repository
 * (401 `error="insufficient_scope"` with the scope asked, as the distribution
 * registry answers), the challenge's parameters in another order or unquoted
 * where RFC 7235 allows a token, and a manifest read redirected to another
 * origin (a CDN, a presigned URL) that serves it without a token.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type * as http from 'node:http';
import { RegistryCredentials } from './credentials';
import { DIGEST_PATTERN, MEDIA_TYPES } from './model';
import { PullClass, PullQuota } from './pull-quota';
import { EcrPublicStore, StoredImage, StoredRepository } from './store';

export const REGISTRY_SERVICE = 'public.ecr.aws';

export interface RegistryAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

function errorAnswer(status: number, code: string, message: string, detail?: unknown, headers: Record<string, string> = {}): RegistryAnswer {
  const body = Buffer.from(JSON.stringify({ errors: [{ code, message, ...(detail !== undefined ? { detail } : {}) }] }));
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body };
}

/** Media types that an Accept header lists (parameters and q-values dropped). */
export function acceptedTypes(accept: string | string[] | undefined): Set<string> {
  const values = Array.isArray(accept) ? accept : accept === undefined ? [] : [accept];
  return new Set(
    values
      .flatMap((value) => value.split(','))
      .map((type) => type.split(';')[0].trim().toLowerCase())
      .filter((type) => type.length > 0),
  );
}

const OCI_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest];

/** What the registry answers a pull over its class's quota (field reports: `toomanyrequests: Rate exceeded`). */
export function tooManyRequests(): RegistryAnswer {
  return errorAnswer(429, 'TOOMANYREQUESTS', 'Rate exceeded');
}

/** The registry's answers that a client must cope with; every switch off by default. */
export interface RegistryBehaviour {
  /** Requests a token is good for; past that, 401 `invalid_token` (it expired). @default - no limit */
  tokenUses?: number;
  /** Milliseconds a token is good for; past that, 401 `invalid_token`. @default - no limit */
  tokenTtlMs?: number;
  /** A token for scope `aws` (what the first challenge asks) does not cover a repository: 401 `insufficient_scope` asking `repository:<path>:pull`. */
  requireRepositoryScope: boolean;
  /** `quoted` (as ECR Public writes it), `reordered` (realm last, spaces after commas) or `unquoted` (token values unquoted, reordered). */
  challengeStyle: 'quoted' | 'reordered' | 'unquoted';
  /** Answer a manifest read with 307 to another origin (redirectTarget) that serves it without a token. */
  redirectManifests: boolean;
}

/** The registry as ECR Public answers: tokens without a use or time limit here, scope `aws` enough, quoted challenges, no redirects. */
export const DEFAULT_REGISTRY_BEHAVIOUR: Readonly<RegistryBehaviour> = {
  tokenUses: undefined,
  tokenTtlMs: undefined,
  requireRepositoryScope: false,
  challengeStyle: 'quoted',
  redirectManifests: false,
};

const TOKEN_VALUE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A `WWW-Authenticate` Bearer challenge written in one of the styles a registry may use. */
export function bearerChallenge(params: ReadonlyArray<readonly [string, string]>, style: RegistryBehaviour['challengeStyle']): string {
  const quote = (value: string) => `"${value.replace(/(["\\])/g, '\\$1')}"`;
  if (style === 'quoted') return `Bearer ${params.map(([name, value]) => `${name}=${quote(value)}`).join(',')}`;
  const reordered = [...params.filter(([name]) => name !== 'realm'), ...params.filter(([name]) => name === 'realm')];
  return `Bearer ${reordered.map(([name, value]) => `${name}=${style === 'unquoted' && TOKEN_VALUE.test(value) ? value : quote(value)}`).join(', ')}`;
}

/** What the registry knows of a bearer token beyond its class: the scopes asked, when it expires, how often it was used. */
interface TokenUse {
  readonly scopes: readonly string[];
  readonly expiresAt: number;
  uses: number;
}

export class RegistryApi {
  readonly credentials: RegistryCredentials;
  readonly quota: PullQuota;
  /** The registry's answers a client must cope with (see RegistryBehaviour). */
  readonly behaviour: RegistryBehaviour = { ...DEFAULT_REGISTRY_BEHAVIOUR };
  /** The other origin redirected manifest reads go to (`http://127.0.0.1:PORT`), set by the server. */
  redirectTarget = '';
  private readonly tokenUses = new Map<string, TokenUse>();
  private readonly signingKey = randomBytes(16);
  private readonly now: () => number;

  constructor(
    private readonly store: EcrPublicStore,
    options: { readonly credentials?: RegistryCredentials; readonly quota?: PullQuota; readonly now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.credentials = options.credentials ?? new RegistryCredentials(Date.now);
    this.quota = options.quota ?? new PullQuota(undefined, Date.now);
  }

  /** Makes every token issued so far expire (the next request with one gets 401 invalid_token). */
  expireTokens(): void {
    for (const token of this.tokenUses.values()) token.uses = Number.POSITIVE_INFINITY;
  }

  private signature(path: string): string {
    return createHmac('sha256', this.signingKey).update(path).digest('hex');
  }

  private linuxAmd64Child(manifest: Buffer, repository: StoredRepository): StoredImage | undefined {
    const list = JSON.parse(manifest.toString('utf8')) as {
      manifests?: Array<{ digest: string; platform?: { os?: string; architecture?: string } }>;
    };
    const entry = list.manifests?.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64');
    return entry ? repository.images.get(entry.digest) : undefined;
  }

  /** Whose quota a pull counts against: the client's address when anonymous, the account when authenticated. */
  private quotaKey(pullClass: PullClass, request: http.IncomingMessage): string {
    return pullClass === 'authenticated' ? `account ${this.store.registryId}` : `address ${request.socket.remoteAddress ?? 'unknown'}`;
  }

  /** `/token`, `/v2/…`, or `/cdn/…` (the other origin of redirected reads): the registry's paths. */
  static serves(path: string): boolean {
    return path === '/token' || path === '/v2' || path.startsWith('/v2/') || path.startsWith('/cdn/');
  }

  handle(request: http.IncomingMessage, endpoint: string): RegistryAnswer {
    const url = new URL(request.url ?? '/', endpoint);
    const method = request.method ?? 'GET';
    if (url.pathname === '/token') {
      if (method !== 'GET') return errorAnswer(405, 'UNSUPPORTED', 'The operation is unsupported.');
      const verdict = this.credentials.judge(request.headers.authorization);
      if ('refused' in verdict) return errorAnswer(400, 'DENIED', 'Your Authorization Token is invalid.');
      const token = this.credentials.bearer(verdict.pullClass);
      const { tokenTtlMs } = this.behaviour;
      this.tokenUses.set(token, {
        scopes: url.searchParams.getAll('scope'),
        expiresAt: this.now() + (tokenTtlMs ?? Number.POSITIVE_INFINITY),
        uses: 0,
      });
      return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: Buffer.from(JSON.stringify({ token })) };
    }
    if (url.pathname.startsWith('/cdn/')) return this.redirected(url, method);
    if (method !== 'GET' && method !== 'HEAD') return errorAnswer(405, 'UNSUPPORTED', 'The operation is unsupported.');
    const manifestPath = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    const challenge = (scope: string, error?: string) =>
      bearerChallenge(
        [['realm', `${endpoint}/token`], ['service', REGISTRY_SERVICE], ['scope', scope], ...(error ? ([['error', error]] as const) : [])],
        this.behaviour.challengeStyle,
      );
    const authorization = String(request.headers.authorization ?? '');
    const bearer = /^Bearer (.+)$/i.exec(authorization)?.[1];
    const pullClass = bearer === undefined ? undefined : this.credentials.classOf(bearer);
    const use = bearer === undefined ? undefined : this.tokenUses.get(bearer);
    if (pullClass === undefined || use === undefined) {
      return errorAnswer(401, 'DENIED', 'Not Authorized', undefined, { 'www-authenticate': challenge('aws') });
    }
    use.uses++;
    if (use.uses > (this.behaviour.tokenUses ?? Number.POSITIVE_INFINITY) || this.now() >= use.expiresAt) {
      return errorAnswer(401, 'DENIED', 'The access token expired', undefined, { 'www-authenticate': challenge('aws', 'invalid_token') });
    }
    if (this.behaviour.requireRepositoryScope && manifestPath) {
      const needed = `repository:${manifestPath[1]}:pull`;
      if (!use.scopes.some((scope) => scope === needed || scope === `repository:${manifestPath[1]}:*`)) {
        return errorAnswer(401, 'DENIED', 'requested access to the resource is denied', undefined, {
          'www-authenticate': challenge(needed, 'insufficient_scope'),
        });
      }
    }
    if (url.pathname === '/v2' || url.pathname === '/v2/') {
      return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: Buffer.from('{}') };
    }
    if (!manifestPath) return errorAnswer(404, 'NOT_FOUND', 'Not found');
    if (!this.quota.admit(pullClass, this.quotaKey(pullClass, request))) return tooManyRequests();
    const [, name, reference] = manifestPath;
    const prefix = `${this.store.alias}/`;
    const repository = name.startsWith(prefix) ? this.store.repositories.get(name.slice(prefix.length)) : undefined;
    if (!repository) return errorAnswer(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name });
    const byTag = !DIGEST_PATTERN.test(decodeURIComponent(reference));
    let image = this.store.find(repository, decodeURIComponent(reference));
    if (!image) return errorAnswer(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { reference });
    const accepted = acceptedTypes(request.headers.accept);
    if (OCI_TYPES.includes(image.mediaType) && !accepted.has(image.mediaType)) {
      const what =
        image.mediaType === MEDIA_TYPES.ociIndex
          ? 'OCI index found, but accept header does not support OCI indexes'
          : 'OCI manifest found, but accept header does not support OCI manifests';
      return errorAnswer(404, 'MANIFEST_UNKNOWN', what, { reference });
    }
    if (byTag && image.mediaType === MEDIA_TYPES.dockerManifestList && !accepted.has(MEDIA_TYPES.dockerManifestList)) {
      // A client that predates manifest lists gets the linux/amd64 image, as the distribution registry gives it.
      const amd64 = this.linuxAmd64Child(image.manifest, repository);
      if (!amd64 || !accepted.has(MEDIA_TYPES.dockerManifest)) return errorAnswer(400, 'MANIFEST_INVALID', 'manifest invalid', {});
      image = amd64;
    }
    if (this.behaviour.redirectManifests && this.redirectTarget) {
      // Another origin serves the bytes, as a CDN or a presigned URL would: no token needed there, none should arrive.
      const path = `/cdn/${name}/manifests/${image.digest}`;
      return { status: 307, headers: { location: `${this.redirectTarget}${path}?X-Amz-Signature=${this.signature(path)}` }, body: Buffer.alloc(0) };
    }
    return {
      status: 200,
      headers: {
        'content-type': image.mediaType,
        'docker-content-digest': image.digest,
        etag: `"${image.digest}"`,
        'docker-distribution-api-version': 'registry/2.0',
      },
      body: image.manifest,
    };
  }

  /** The other origin: serves a manifest by digest to whoever holds a signature the registry gave, with no token. */
  private redirected(url: URL, method: string): RegistryAnswer {
    if (method !== 'GET' && method !== 'HEAD') return errorAnswer(405, 'UNSUPPORTED', 'The operation is unsupported.');
    if (url.searchParams.get('X-Amz-Signature') !== this.signature(url.pathname)) return errorAnswer(403, 'DENIED', 'signature does not match');
    const match = /^\/cdn\/(.+)\/manifests\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    const prefix = `${this.store.alias}/`;
    const repository = match && match[1].startsWith(prefix) ? this.store.repositories.get(match[1].slice(prefix.length)) : undefined;
    const image = match ? repository?.images.get(match[2]) : undefined;
    if (!image) return errorAnswer(404, 'NOT_FOUND', 'Not found');
    return { status: 200, headers: { 'content-type': image.mediaType, 'docker-content-digest': image.digest }, body: image.manifest };
  }
}
