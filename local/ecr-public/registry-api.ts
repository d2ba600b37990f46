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
 */
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

export class RegistryApi {
  readonly credentials: RegistryCredentials;
  readonly quota: PullQuota;

  constructor(
    private readonly store: EcrPublicStore,
    options: { readonly credentials?: RegistryCredentials; readonly quota?: PullQuota } = {},
  ) {
    this.credentials = options.credentials ?? new RegistryCredentials(Date.now);
    this.quota = options.quota ?? new PullQuota(undefined, Date.now);
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

  /** `/token` or `/v2/…`: the registry's paths. */
  static serves(path: string): boolean {
    return path === '/token' || path === '/v2' || path.startsWith('/v2/');
  }

  handle(request: http.IncomingMessage, endpoint: string): RegistryAnswer {
    const url = new URL(request.url ?? '/', endpoint);
    const method = request.method ?? 'GET';
    if (url.pathname === '/token') {
      if (method !== 'GET') return errorAnswer(405, 'UNSUPPORTED', 'The operation is unsupported.');
      const verdict = this.credentials.judge(request.headers.authorization);
      if ('refused' in verdict) return errorAnswer(400, 'DENIED', 'Your Authorization Token is invalid.');
      const token = this.credentials.bearer(verdict.pullClass);
      return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: Buffer.from(JSON.stringify({ token })) };
    }
    if (method !== 'GET' && method !== 'HEAD') return errorAnswer(405, 'UNSUPPORTED', 'The operation is unsupported.');
    const authorization = String(request.headers.authorization ?? '');
    const bearer = /^Bearer (.+)$/i.exec(authorization)?.[1];
    const pullClass = bearer === undefined ? undefined : this.credentials.classOf(bearer);
    if (pullClass === undefined) {
      return errorAnswer(401, 'DENIED', 'Not Authorized', undefined, {
        'www-authenticate': `Bearer realm="${endpoint}/token",service="${REGISTRY_SERVICE}",scope="aws"`,
      });
    }
    if (url.pathname === '/v2' || url.pathname === '/v2/') {
      return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: Buffer.from('{}') };
    }
    const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (!match) return errorAnswer(404, 'NOT_FOUND', 'Not found');
    if (!this.quota.admit(pullClass, this.quotaKey(pullClass, request))) return tooManyRequests();
    const [, name, reference] = match;
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
}
