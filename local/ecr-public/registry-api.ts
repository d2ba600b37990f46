/**
 * The registry API that the public registry (public.ecr.aws) serves, as far as
 * reading manifests goes (OCI distribution spec, "pull"):
 *
 * - `GET|HEAD /v2/<alias>/<repository>/manifests/<digest|tag>`: the exact bytes
 *   pushed, with Content-Type and Docker-Content-Digest; 404 MANIFEST_UNKNOWN
 *   for an unknown reference, 404 NAME_UNKNOWN for an unknown repository;
 * - a media type is served only when the Accept header lists it (as the
 *   distribution registry does for OCI types; there is no schema 1
 *   conversion: a Docker manifest that Accept does not admit is MANIFEST_UNKNOWN too);
 * - the bearer challenge: without a token, 401 with
 *   `WWW-Authenticate: Bearer realm="<endpoint>/token",service="public.ecr.aws",scope="aws"`;
 *   `GET /token` answers `{"token": …}`, which the emulator then accepts.
 */
import { randomBytes } from 'node:crypto';
import type * as http from 'node:http';
import { EcrPublicStore } from './store';

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

export class RegistryApi {
  private readonly tokens = new Set<string>();

  constructor(private readonly store: EcrPublicStore) {}

  /** `/token` or `/v2/…`: the registry's paths. */
  static serves(path: string): boolean {
    return path === '/token' || path === '/v2' || path.startsWith('/v2/');
  }

  handle(request: http.IncomingMessage, endpoint: string): RegistryAnswer {
    const url = new URL(request.url ?? '/', endpoint);
    const method = request.method ?? 'GET';
    if (url.pathname === '/token') {
      if (method !== 'GET') return errorAnswer(405, 'UNSUPPORTED', 'The operation is unsupported.');
      const token = randomBytes(24).toString('base64url');
      this.tokens.add(token);
      return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: Buffer.from(JSON.stringify({ token })) };
    }
    if (method !== 'GET' && method !== 'HEAD') return errorAnswer(405, 'UNSUPPORTED', 'The operation is unsupported.');
    const authorization = String(request.headers.authorization ?? '');
    const bearer = /^Bearer (.+)$/i.exec(authorization)?.[1];
    if (bearer === undefined || !this.tokens.has(bearer)) {
      return errorAnswer(401, 'DENIED', 'Not Authorized', undefined, {
        'www-authenticate': `Bearer realm="${endpoint}/token",service="${REGISTRY_SERVICE}",scope="aws"`,
      });
    }
    if (url.pathname === '/v2' || url.pathname === '/v2/') {
      return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: Buffer.from('{}') };
    }
    const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (!match) return errorAnswer(404, 'NOT_FOUND', 'Not found');
    const [, name, reference] = match;
    const prefix = `${this.store.alias}/`;
    const repository = name.startsWith(prefix) ? this.store.repositories.get(name.slice(prefix.length)) : undefined;
    if (!repository) return errorAnswer(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name });
    const image = this.store.find(repository, decodeURIComponent(reference));
    if (!image) return errorAnswer(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { reference });
    if (!acceptedTypes(request.headers.accept).has(image.mediaType)) {
      return errorAnswer(404, 'MANIFEST_UNKNOWN', `${image.mediaType} found, but the Accept header does not admit it`, { reference });
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
