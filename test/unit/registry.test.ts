/**
 * The registry reader against a minimal registry served in the test: the
 * bearer-token challenge (and a new token when the registry refuses the one in
 * use), retries of 429 and 5xx within the deadline, redirects (never with the
 * token to another origin), the bound on what an answer may weigh, what is
 * "unknown" and why, and the bound on reads in flight.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_READ_CONCURRENCY,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  MAX_REDIRECTS,
  MAX_TOKEN_FETCHES,
  NOT_READ,
  RegistryOptions,
  openRegistry,
  parseBearerChallenge,
  registryLocation,
  retryAfterMs,
} from '../../lambda/registry';
import { Secret } from '../../lambda/registry-auth';
import type { ManifestRead } from '../../lambda/select';
import { VerifiedManifest } from '../../lambda/verified-manifest';
import { buildxIndex, cosignSignature, digestOf, singleImage } from '../../local/ecr-public';
import { freePort } from '../support/backends';

type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

let server: http.Server;
let base: string;
let handle: Handler;
/** A second server: another origin (another port), where a redirect may lead. */
let other: http.Server;
let otherBase: string;
let handleOther: Handler;
beforeAll(async () => {
  server = http.createServer((request, response) => handle(request, response));
  other = http.createServer((request, response) => handleOther(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of [server, other]) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

const pushed = buildxIndex('v1', { tags: ['v1'] });
const index = pushed.index;
const amd64 = pushed.images[0];
const location = () => ({ base, path: 'a1b2c3d4/app' });
/** A read as a plain value (the reader answers VerifiedManifests, which carry their digest too). */
function plainOf(read: ManifestRead | undefined): unknown {
  if (read === undefined || 'unknown' in read) return read;
  expect(VerifiedManifest.is(read)).toBe(true);
  return {
    references: [...read.references],
    ...(read.mediaType !== undefined ? { mediaType: read.mediaType } : {}),
    ...(read.subject !== undefined ? { subject: read.subject } : {}),
  };
}
/** A reader's options on a clock of its own (below), the deadline ten minutes away: pacing and backoff take no time. */
function fast(): RegistryOptions {
  const time = clock();
  return { deadline: time.now() + 600_000, ...time };
}
/** Waits recorded instead of slept, so that retries take no time. */
function clock(): Required<Pick<RegistryOptions, 'now' | 'sleep' | 'random'>> & { waits: number[] } {
  let t = 1_000_000;
  const waits: number[] = [];
  return { waits, now: () => t, sleep: async (ms) => void (waits.push(ms), (t += ms)), random: () => 0.5 };
}

describe('reading index manifests', () => {
  test('answers the bearer challenge anonymously once, at GET /v2/, then reads every manifest with the token', async () => {
    const seen: Array<{ url: string; accept?: string; authorization?: string }> = [];
    let tokens = 0;
    handle = (request, response) => {
      seen.push({ url: request.url!, accept: request.headers.accept, authorization: request.headers.authorization });
      if (request.url!.startsWith('/token')) {
        tokens++;
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'anon-token' }));
      } else if (request.headers.authorization !== 'Bearer anon-token') {
        response.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="public.ecr.aws",scope="aws"` }).end();
      } else if (request.url === `/v2/a1b2c3d4/app/manifests/${index.digest}`) {
        response.writeHead(200, { 'content-type': index.mediaType }).end(index.manifest);
      } else {
        response.writeHead(404).end();
      }
    };
    const reader = openRegistry(location(), fast());
    const reads = await reader.read([index.digest, index.digest]);
    expect(plainOf(reads.get(index.digest))).toEqual({ references: index.references, mediaType: index.mediaType });
    const again = await reader.read([index.digest]);
    expect(plainOf(again.get(index.digest))).toEqual({ references: index.references, mediaType: index.mediaType });
    expect(tokens).toBe(1);
    expect(seen.find((r) => r.url.startsWith('/token'))!.url).toBe('/token?service=public.ecr.aws&scope=aws');
    expect(seen.filter((r) => r.url.includes('/manifests/')).every((r) => r.accept === MANIFEST_ACCEPT)).toBe(true);
    // The challenge is answered at GET /v2/, before the first manifest request: every manifest request carries the token.
    expect(seen[0]).toMatchObject({ url: '/v2/', authorization: undefined });
    expect(seen.filter((r) => r.url.includes('/manifests/') && r.authorization === undefined)).toHaveLength(0);
    expect(reader.stats).toMatchObject({ manifests: 2 });
  });

  test('an image manifest references nothing; the accept header names the four manifest types', async () => {
    const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] });
    handle = (_request, response) => response.writeHead(200).end(body);
    const reads = await openRegistry(location(), fast()).read([digestOf(body)]);
    expect(plainOf(reads.get(digestOf(body)))).toEqual({ references: [], mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    expect(MANIFEST_ACCEPT.split(', ').sort()).toEqual([
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
    ]);
  });

  test('retries 429 after its Retry-After and 5xx after a backoff, then reads', async () => {
    const answers = [429, 503, 500, 200];
    handle = (request, response) => {
      if (!request.url!.includes('/manifests/')) return void response.writeHead(404).end();
      const status = answers.shift()!;
      if (status === 429) response.writeHead(429, { 'retry-after': '2' }).end();
      else if (status !== 200) response.writeHead(status).end();
      else response.writeHead(200).end(index.manifest);
    };
    const time = clock();
    const reader = openRegistry(location(), { deadline: time.now() + 60_000, ...time });
    const reads = await reader.read([index.digest]);
    expect(plainOf(reads.get(index.digest))).toEqual({ references: index.references, mediaType: index.mediaType });
    // The Retry-After first (the pacer, slowed by the 429, holds the next slot as long or longer); then the backoffs of the 5xx.
    expect(time.waits[0]).toBeGreaterThanOrEqual(2000);
    expect(reader.stats).toMatchObject({ pulls: 4, throttled: 1 });
  });

  test('a Retry-After past the deadline ends the read at once, as unknown, with the cause', async () => {
    let requests = 0;
    handle = (request, response) =>
      void (request.url!.includes('/manifests/') && requests++, response.writeHead(429, { 'retry-after': '120' }).end());
    const time = clock();
    const reads = await openRegistry(location(), { deadline: time.now() + 30_000, ...time }).read([index.digest]);
    expect(requests).toBe(1);
    expect(time.waits).toEqual([]);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toMatch(/HTTP 429, Retry-After 120 s is past the deadline for registry reads/);
  });

  test('a 429 storm without Retry-After gives up at the deadline, not after it', async () => {
    handle = (_request, response) => response.writeHead(429).end();
    const time = clock();
    const start = time.now();
    const reads = await openRegistry(location(), { deadline: start + 1_000, ...time }).read([index.digest]);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toContain('HTTP 429');
    expect(time.now()).toBeLessThanOrEqual(start + 1_000);
  });

  test.each([
    [404, 'HTTP 404'],
    [403, 'HTTP 403'],
  ])('HTTP %i is not retried: the references are unknown', async (status, cause) => {
    let requests = 0;
    handle = (request, response) => void (request.url!.includes('/manifests/') && requests++, response.writeHead(status).end());
    const reads = await openRegistry(location(), fast()).read([index.digest]);
    expect(requests).toBe(1);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toContain(cause);
  });

  test('a manifest whose bytes do not hash to the digest asked for is unknown', async () => {
    handle = (_request, response) => response.writeHead(200).end(index.manifest.replace(amd64.digest, singleImage('x').digest));
    const reads = await openRegistry(location(), fast()).read([index.digest]);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toContain('served a manifest with digest');
  });

  test('a registry that is down: unknown, with the network error, within the deadline', async () => {
    const time = clock();
    const down = { base: `http://127.0.0.1:${await freePort()}`, path: 'x/app' };
    const reads = await openRegistry(down, { deadline: time.now() + 60_000, ...time }).read([index.digest]);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toContain('(ECONNREFUSED)');
  });

  test('a token endpoint that fails leaves the references unknown, with its cause', async () => {
    handle = (request, response) => {
      if (request.url!.startsWith('/token')) response.writeHead(403).end();
      else response.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="registry"` }).end();
    };
    const reads = await openRegistry(location(), fast()).read([index.digest]);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toMatch(
      /^no registry token: anonymous token request GET http:\/\/127.0.0.1:\d+\/token: HTTP 403 \(and authenticated reads are not possible: no credentials were given/,
    );
  });

  test(`at most ${DEFAULT_READ_CONCURRENCY} reads are in flight`, async () => {
    let inFlight = 0;
    let most = 0;
    handle = (_request, response) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        response.writeHead(404).end();
      }, 20);
    };
    const digests = Array.from({ length: 12 }, (_, i) => singleImage(`c${i}`).digest);
    const reads = await openRegistry(location(), fast()).read(digests);
    expect(reads.size).toBe(12);
    expect(most).toBe(DEFAULT_READ_CONCURRENCY);
  });
});

describe('tokens', () => {
  /** A registry whose tokens are `token-1`, `token-2`…; `accepts(token, url)` answers the challenge's error, or undefined to serve. */
  function tokenRegistry(refuse: (token: string, url: string) => { error: string; scope?: string; status?: number } | undefined) {
    const issued: string[] = [];
    const tokenRequests: URLSearchParams[] = [];
    handle = (request, response) => {
      const url = new URL(request.url!, base);
      if (url.pathname === '/token') {
        tokenRequests.push(url.searchParams);
        issued.push(`token-${issued.length + 1}`);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: issued[issued.length - 1] }));
        return;
      }
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      const refused = token === undefined ? { error: '' } : refuse(token, url.pathname);
      if (refused !== undefined) {
        const error = refused.error ? `,error="${refused.error}"` : '';
        response
          .writeHead(refused.status ?? 401, {
            'www-authenticate': `Bearer realm="${base}/token",service="public.ecr.aws",scope="${refused.scope ?? 'aws'}"${error}`,
          })
          .end();
        return;
      }
      const digest = url.pathname.split('/').pop()!;
      const body = manifests.get(digest);
      if (body) response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(body);
      else response.writeHead(404).end();
    };
    return { issued, tokenRequests };
  }
  const images = Array.from({ length: 8 }, (_, i) => singleImage(`tok-${i}`, { format: 'oci' }));
  const manifests = new Map(images.map((image) => [image.digest, image.manifest]));
  const digests = images.map((image) => image.digest);
  const known = (reads: Map<string, unknown>) => digests.filter((digest) => 'references' in (reads.get(digest) as object)).length;

  test('one token for the event, whatever the number of manifests read at once', async () => {
    const registry = tokenRegistry(() => undefined);
    const reader = openRegistry(location(), fast());
    const reads = await reader.read(digests);
    expect(known(reads)).toBe(8);
    expect(registry.issued).toEqual(['token-1']);
    expect(reader.stats.tokens).toBe(1);
  });

  test('a token that expires (401 invalid_token) is replaced once, by one request for every read in flight', async () => {
    let served = 0;
    const registry = tokenRegistry((token) => (token === 'token-1' && ++served > 3 ? { error: 'invalid_token' } : undefined));
    const reader = openRegistry(location(), fast());
    const reads = await reader.read(digests);
    expect(known(reads)).toBe(8);
    expect(registry.issued).toEqual(['token-1', 'token-2']);
  });

  test('a token still refused after a new one leaves that read unknown, and the reader asks for few tokens', async () => {
    const registry = tokenRegistry(() => ({ error: 'invalid_token' }));
    const reads = await openRegistry(location(), fast()).read(digests);
    expect(known(reads)).toBe(0);
    expect((reads.get(digests[0]) as { unknown: string }).unknown).toMatch(/HTTP 401 with a new token \(invalid_token\)|refused \d+ tokens/);
    expect(registry.issued.length).toBeLessThanOrEqual(MAX_TOKEN_FETCHES);
  });

  test.each([401, 403])('insufficient_scope (HTTP %i): the new token is asked for the scope the challenge names', async (status) => {
    const scope = 'repository:a1b2c3d4/app:pull';
    const registry = tokenRegistry((token) => (token === 'token-1' ? { error: 'insufficient_scope', scope, status } : undefined));
    const reads = await openRegistry(location(), fast()).read(digests.slice(0, 2));
    expect([...reads.values()].every((read) => 'references' in read)).toBe(true);
    expect(registry.tokenRequests.map((params) => params.get('scope'))).toEqual(['aws', scope]);
    expect(registry.tokenRequests[1].get('error')).toBeNull();
  });

  test('a token endpoint that redirects (to another origin too) is followed: it carries no credential', async () => {
    const registry = tokenRegistry(() => undefined);
    const served = handle;
    handle = (request, response) =>
      request.url!.startsWith('/token') && !request.url!.includes('moved=1')
        ? void response.writeHead(301, { location: `${otherBase}/token-elsewhere?${request.url!.split('?')[1]}` }).end()
        : served(request, response);
    handleOther = (request, response) => void response.writeHead(307, { location: `${base}/token?moved=1&${request.url!.split('?')[1]}` }).end();
    const reads = await openRegistry(location(), fast()).read(digests.slice(0, 2));
    expect([...reads.values()].every((read) => 'references' in read)).toBe(true);
    expect(registry.issued).toEqual(['token-1']);
  });

  test('a realm that is not a URL: every read unknown, with the cause; nothing thrown', async () => {
    handle = (_request, response) => response.writeHead(401, { 'www-authenticate': 'Bearer realm="not a url",service="x"' }).end();
    const reads = await openRegistry(location(), fast()).read(digests.slice(0, 3));
    expect([...reads.values()].every((read) => 'unknown' in read && /realm is not a URL/.test(read.unknown))).toBe(true);
  });
});

describe('redirects', () => {
  const image = singleImage('moved-away', { format: 'oci' });
  /** The registry redirects every manifest read to `target`, and records what each origin received. */
  function redirecting(target: (path: string) => string, status = 307) {
    const seen: Array<{ origin: 'registry' | 'other'; url: string; authorization?: string }> = [];
    handle = (request, response) => {
      seen.push({ origin: 'registry', url: request.url!, authorization: request.headers.authorization });
      if (request.url!.startsWith('/token')) return void response.writeHead(200).end(JSON.stringify({ token: 'secret-token' }));
      if (request.headers.authorization !== 'Bearer secret-token') {
        return void response.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="s"` }).end();
      }
      if (request.url!.startsWith('/same/')) return void response.writeHead(200).end(image.manifest);
      response.writeHead(status, { location: target(request.url!) }).end();
    };
    handleOther = (request, response) => {
      seen.push({ origin: 'other', url: request.url!, authorization: request.headers.authorization });
      response.writeHead(200, { 'content-type': image.mediaType }).end(image.manifest);
    };
    return seen;
  }

  test.each([301, 302, 303, 307, 308])('HTTP %i to another origin is followed without the token', async (status) => {
    const seen = redirecting((path) => `${otherBase}/presigned${path}?X-Amz-Signature=abc`, status);
    const reads = await openRegistry(location(), fast()).read([image.digest]);
    expect(plainOf(reads.get(image.digest))).toEqual({ references: [], mediaType: image.mediaType });
    const atOther = seen.filter((r) => r.origin === 'other');
    expect(atOther).toEqual([
      { origin: 'other', url: `/presigned/v2/a1b2c3d4/app/manifests/${image.digest}?X-Amz-Signature=abc`, authorization: undefined },
    ]);
  });

  test('a redirect on the same origin keeps the token', async () => {
    const seen = redirecting((path) => `/same${path}`);
    const reads = await openRegistry(location(), fast()).read([image.digest]);
    expect(reads.get(image.digest)).toMatchObject({ references: [] });
    expect(seen.find((r) => r.url.startsWith('/same/'))?.authorization).toBe('Bearer secret-token');
  });

  test(`more than ${MAX_REDIRECTS} redirects: unknown`, async () => {
    redirecting((path) => path);
    const reads = await openRegistry(location(), fast()).read([image.digest]);
    expect((reads.get(image.digest) as { unknown: string }).unknown).toContain(`more than ${MAX_REDIRECTS} redirects`);
  });

  test("what Node's own fetch does (which the reader does not rely on): it drops Authorization on a redirect to another origin, keeps it on the same", async () => {
    const seen = redirecting((path) => (path.includes('cross') ? `${otherBase}/x` : `/same/x`));
    await (await fetch(`${base}/v2/cross`, { headers: { authorization: 'Bearer secret-token' } })).arrayBuffer();
    await (await fetch(`${base}/v2/same-origin`, { headers: { authorization: 'Bearer secret-token' } })).arrayBuffer();
    expect(seen.find((r) => r.origin === 'other')?.authorization).toBeUndefined();
    expect(seen.find((r) => r.url === '/same/x')?.authorization).toBe('Bearer secret-token');
  });
});

describe('what an answer may weigh', () => {
  /** A manifest of exactly `bytes` bytes, padded with an annotation. */
  function manifestOf(bytes: number): string {
    const empty = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', annotations: { pad: '' } });
    return empty.replace('"pad":""', `"pad":"${'x'.repeat(bytes - Buffer.byteLength(empty))}"`);
  }

  test(`a manifest of exactly ${MAX_MANIFEST_BYTES} bytes (4 MiB) is read; one byte more is unknown`, async () => {
    const fits = manifestOf(MAX_MANIFEST_BYTES);
    const over = manifestOf(MAX_MANIFEST_BYTES + 1);
    expect([Buffer.byteLength(fits), Buffer.byteLength(over)]).toEqual([MAX_MANIFEST_BYTES, MAX_MANIFEST_BYTES + 1]);
    const bodies = new Map([
      [digestOf(fits), fits],
      [digestOf(over), over],
    ]);
    // Without Content-Length, as a stream: the cap does not depend on the header.
    handle = (request, response) => {
      response.writeHead(200, { 'transfer-encoding': 'chunked' });
      response.end(bodies.get(request.url!.split('/').pop()!));
    };
    const reads = await openRegistry(location(), fast()).read([...bodies.keys()]);
    expect(reads.get(digestOf(fits))).toMatchObject({ references: [] });
    expect((reads.get(digestOf(over)) as { unknown: string }).unknown).toContain(`more than the ${MAX_MANIFEST_BYTES} bytes a manifest read accepts`);
  });

  test('an endless answer is cut off at the cap, at once, not read until the timeout', async () => {
    let requests = 0;
    handle = (request, response) => {
      if (request.url!.includes('/manifests/')) requests++;
      response.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const write = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', write);
      };
      write();
    };
    const started = Date.now();
    const reads = await openRegistry(location(), fast()).read([index.digest]);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toContain('a manifest read accepts');
    expect(Date.now() - started).toBeLessThan(5_000);
    // Not retried: the answer was an answer, too large.
    expect(requests).toBe(1);
  });

  test('a Content-Length over the cap: unknown without reading the body', async () => {
    handle = (_request, response) => {
      response.writeHead(200, { 'content-length': String(MAX_MANIFEST_BYTES + 10) });
      response.write('{');
    };
    const reads = await openRegistry(location(), fast()).read([index.digest]);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toContain(`${MAX_MANIFEST_BYTES + 10} bytes, more than`);
  });
});

describe('what a manifest says', () => {
  test("a referrer's subject is read with its references and media type; a subject without a digest is unknown", async () => {
    const subject = singleImage('subject', { format: 'oci' });
    const signature = cosignSignature(subject);
    const broken = signature.manifest.replace(`"digest":"${subject.digest}"`, '"nodigest":"x"');
    const bodies = new Map([
      [signature.digest, signature.manifest],
      [digestOf(broken), broken],
    ]);
    handle = (request, response) => response.writeHead(200).end(bodies.get(request.url!.split('/').pop()!));
    const reads = await openRegistry(location(), fast()).read([...bodies.keys()]);
    expect(plainOf(reads.get(signature.digest))).toEqual({
      references: [],
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      subject: subject.digest,
    });
    expect((reads.get(digestOf(broken)) as { unknown: string }).unknown).toContain('"subject" has no valid digest');
  });

  test('without a mediaType field, the Content-Type it was served with', async () => {
    const body = JSON.stringify({ schemaVersion: 2, manifests: [{ digest: amd64.digest }] });
    handle = (_request, response) => response.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json; charset=utf-8' }).end(body);
    const reads = await openRegistry(location(), fast()).read([digestOf(body)]);
    expect(plainOf(reads.get(digestOf(body)))).toEqual({ references: [amd64.digest], mediaType: 'application/vnd.oci.image.index.v1+json' });
  });
});

describe('where manifests are read', () => {
  test('the repository URI gives the host and the path; the endpoint variable replaces scheme and host only', () => {
    expect(registryLocation('public.ecr.aws/a1b2c3d4/my-app')).toEqual({ base: 'https://public.ecr.aws', path: 'a1b2c3d4/my-app' });
    expect(registryLocation('public.ecr.aws/a1b2c3d4/team/my-app', 'http://127.0.0.1:5000/')).toEqual({
      base: 'http://127.0.0.1:5000',
      path: 'a1b2c3d4/team/my-app',
    });
    expect(() => registryLocation('public.ecr.aws')).toThrow(/has no host and path/);
  });

  test('challenge and Retry-After parsing', () => {
    const expected = { realm: 'https://public.ecr.aws/token/', params: { service: 'public.ecr.aws', scope: 'aws' } };
    expect(parseBearerChallenge('Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws"')).toEqual(expected);
    // RFC 7235: parameters in any order, BWS around "=", tokens unquoted, names and scheme without regard to case, other challenges first.
    for (const header of [
      'Bearer scope="aws", service="public.ecr.aws", realm="https://public.ecr.aws/token/"',
      'bearer Service=public.ecr.aws , SCOPE = aws,realm="https://public.ecr.aws/token/"',
      'Basic realm="legacy", Bearer realm="https://public.ecr.aws/token/",service=public.ecr.aws,scope=aws',
      'Negotiate abc==, Bearer realm="https://public.ecr.aws/token/", service="public.ecr.aws", scope="aws"',
    ]) {
      expect(parseBearerChallenge(header)).toEqual(expected);
    }
    // A quoted-pair inside a quoted-string.
    expect(parseBearerChallenge('Bearer realm="https://r/t",error_description="a \\"quoted\\" word"')?.params.error_description).toBe(
      'a "quoted" word',
    );
    expect(parseBearerChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseBearerChallenge('Bearer service="x"')).toBeUndefined();
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});

describe('authenticated, paced reads', () => {
  const PASSWORD = 'p4ssw0rd-from-GetAuthorizationToken';
  const BASIC = Buffer.from(`AWS:${PASSWORD}`).toString('base64');
  const credentials = async () => ({ basic: new Secret(BASIC) });
  const images = Array.from({ length: 10 }, (_, i) => singleImage(`paced-${i}`, { format: 'oci' }));
  const bodies = new Map(images.map((image) => [image.digest, image.manifest]));
  const digests = images.map((image) => image.digest);

  /**
   * A registry whose realm gives `auth-N` for the Basic credentials and `anon-N` without; `expire(token)` says
   * whether a token is refused (invalid_token). Records what each request carried and when it arrived.
   */
  function realmRegistry(time: { now: () => number }, expire: (token: string) => boolean = () => false) {
    const seen: Array<{ url: string; authorization?: string; at: number }> = [];
    let issued = 0;
    handle = (request, response) => {
      const url = new URL(request.url!, base);
      seen.push({ url: url.pathname, authorization: request.headers.authorization, at: time.now() });
      if (url.pathname === '/token') {
        const basic = request.headers.authorization === `Basic ${BASIC}`;
        if (request.headers.authorization !== undefined && !basic) return void response.writeHead(400).end('{"errors":[{"code":"DENIED"}]}');
        return void response.writeHead(200).end(JSON.stringify({ token: `${basic ? 'auth' : 'anon'}-${++issued}` }));
      }
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      if (token === undefined || expire(token)) {
        const error = token === undefined ? '' : ',error="invalid_token"';
        return void response
          .writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="public.ecr.aws",scope="aws"${error}` })
          .end();
      }
      const body = bodies.get(url.pathname.split('/').pop()!);
      if (body) response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(body);
      else response.writeHead(404).end();
    };
    return seen;
  }
  const manifestRequests = (seen: ReturnType<typeof realmRegistry>) => seen.filter((r) => r.url.includes('/manifests/'));

  test('with credentials, the realm gets them as Basic, and every manifest is read with the authenticated token', async () => {
    const time = clock();
    const seen = realmRegistry(time);
    const reader = openRegistry(location(), { deadline: time.now() + 600_000, ...time, credentials });
    const reads = await reader.read(digests);
    expect([...reads.values()].every((read) => VerifiedManifest.is(read))).toBe(true);
    expect(seen.filter((r) => r.url === '/token').map((r) => r.authorization)).toEqual([`Basic ${BASIC}`]);
    expect(manifestRequests(seen).every((r) => r.authorization === 'Bearer auth-1')).toBe(true);
    expect(reader.stats).toMatchObject({ access: { kind: 'authenticated' }, ratePerSecond: 5, tokens: 1, pulls: 10, throttled: 0 });
  });

  test.each<[string, number | undefined, boolean, number]>([
    ['authenticated, by default: 5 a second', undefined, true, 200],
    ['authenticated, registryReadsPerSecond 20', 20, true, 50],
    ['anonymous: 0.9 a second', undefined, false, 1000 / 0.9],
    ['anonymous, whatever registryReadsPerSecond says: 0.9 a second', 20, false, 1000 / 0.9],
  ])('manifest requests start paced (%s), token requests and the ping are not', async (_what, readsPerSecond, authenticated, spacing) => {
    const time = clock();
    const seen = realmRegistry(time);
    const reader = openRegistry(location(), {
      deadline: time.now() + 600_000,
      ...time,
      // One at a time, so that each request arrives at its slot on this test's clock.
      concurrency: 1,
      readsPerSecond,
      ...(authenticated ? { credentials } : {}),
    });
    await reader.read(digests);
    const starts = manifestRequests(seen).map((r) => r.at);
    const gaps = starts.slice(1).map((at, i) => at - starts[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(spacing);
    expect(starts[starts.length - 1] - starts[0]).toBeCloseTo(spacing * (starts.length - 1), 6);
    expect(seen[0].url).toBe('/v2/');
  });

  test('a 429 without Retry-After slows the pacer and holds the next request: no backoff of its own, and the read goes on', async () => {
    const time = clock();
    const seen = realmRegistry(time);
    const served = handle;
    let throttled = 0;
    handle = (request, response) => {
      // Every fourth manifest request is refused, without Retry-After (as ECR Public's field reports show).
      if (request.url!.includes('/manifests/') && ++throttled % 4 === 0) return void response.writeHead(429).end();
      served(request, response);
    };
    const reader = openRegistry(location(), { deadline: time.now() + 600_000, ...time, credentials });
    const reads = await reader.read(digests);
    expect([...reads.values()].every((read) => 'references' in read)).toBe(true);
    expect(reader.stats.throttled).toBeGreaterThan(0);
    // Every wait is a slot of the pacer: at least its interval at the ceiling (200 ms), never a jittered backoff (100 ms here).
    expect(time.waits.every((ms) => ms >= 200)).toBe(true);
    expect(seen.length).toBeGreaterThan(digests.length);
  });

  test('what the deadline leaves unread is "not read in this event", the first digests given read first', async () => {
    const time = clock();
    realmRegistry(time);
    const reader = openRegistry(location(), { deadline: time.now() + 2_500, ...time, concurrency: 1 });
    const told: string[] = [];
    const reads = await reader.read(digests, (digest) => told.push(digest));
    // Anonymous, 0.9 a second: the slots at 0, 1.11 and 2.22 s start before the deadline.
    const read = digests.filter((digest) => 'references' in reads.get(digest)!);
    expect(read).toEqual(digests.slice(0, 3));
    for (const digest of digests.slice(3)) expect((reads.get(digest) as { unknown: string }).unknown).toMatch(new RegExp(`^${NOT_READ}`));
    expect(reader.stats.notRead).toBe(7);
    expect(told).toEqual(digests);
  });

  test('an expired token (invalid_token) is replaced by a new authenticated one: the credentials go to the realm again', async () => {
    const time = clock();
    const seen = realmRegistry(time, (token) => token === 'auth-1' && manifestRequests(seen).length > 4);
    const reader = openRegistry(location(), { deadline: time.now() + 600_000, ...time, credentials });
    const reads = await reader.read(digests);
    expect([...reads.values()].every((read) => 'references' in read)).toBe(true);
    expect(seen.filter((r) => r.url === '/token').map((r) => r.authorization)).toEqual([`Basic ${BASIC}`, `Basic ${BASIC}`]);
    expect(
      manifestRequests(seen)
        .slice(-3)
        .every((r) => r.authorization === 'Bearer auth-2'),
    ).toBe(true);
    expect(reader.stats).toMatchObject({ access: { kind: 'authenticated' }, tokens: 2 });
  });

  test('credentials the realm refuses: anonymous reads at the anonymous rate, and the stats say why; no secret in them', async () => {
    const time = clock();
    const seen = realmRegistry(time);
    const wrong = async () => ({ basic: new Secret(Buffer.from('AWS:wrong-password-123').toString('base64')) });
    const reader = openRegistry(location(), { deadline: time.now() + 600_000, ...time, credentials: wrong });
    const reads = await reader.read(digests.slice(0, 3));
    expect([...reads.values()].every((read) => 'references' in read)).toBe(true);
    expect(reader.stats.access).toEqual({ kind: 'anonymous', why: expect.stringContaining('the token realm refused the credentials: HTTP 400') });
    expect(reader.stats.ratePerSecond).toBe(0.9);
    expect(manifestRequests(seen).every((r) => r.authorization === 'Bearer anon-1')).toBe(true);
    const printed = JSON.stringify(reader.stats) + JSON.stringify([...reads.values()]);
    for (const secret of ['wrong-password-123', Buffer.from('AWS:wrong-password-123').toString('base64'), 'anon-1'])
      expect(printed).not.toContain(secret);
  });
});
