/**
 * The registry reader against a minimal registry served in the test: the
 * bearer-token challenge, retries of 429 and 5xx within the deadline, what is
 * "unknown" and why, and the bound on reads in flight.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_READ_CONCURRENCY,
  MANIFEST_ACCEPT,
  RegistryOptions,
  openRegistry,
  parseBearerChallenge,
  registryLocation,
  retryAfterMs,
} from '../../lambda/registry';
import { buildxIndex, digestOf, singleImage } from '../../local/ecr-public';
import { freePort } from '../support/backends';

type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

let server: http.Server;
let base: string;
let handle: Handler;
beforeAll(async () => {
  server = http.createServer((request, response) => handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const pushed = buildxIndex('v1', { tags: ['v1'] });
const index = pushed.index;
const amd64 = pushed.images[0];
const location = () => ({ base, path: 'a1b2c3d4/app' });
/** Waits recorded instead of slept, so that retries take no time. */
function clock(): Required<Pick<RegistryOptions, 'now' | 'sleep' | 'random'>> & { waits: number[] } {
  let t = 1_000_000;
  const waits: number[] = [];
  return { waits, now: () => t, sleep: async (ms) => void (waits.push(ms), (t += ms)), random: () => 0.5 };
}

describe('reading index manifests', () => {
  test('answers the bearer challenge anonymously once, then reads every manifest with the token', async () => {
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
    const reader = openRegistry(location(), { deadline: Date.now() + 10_000 });
    const reads = await reader.read([index.digest, index.digest]);
    expect(reads.get(index.digest)).toEqual({ references: index.references });
    const again = await reader.read([index.digest]);
    expect(again.get(index.digest)).toEqual({ references: index.references });
    expect(tokens).toBe(1);
    expect(seen.find((r) => r.url.startsWith('/token'))!.url).toBe('/token?service=public.ecr.aws&scope=aws');
    expect(seen.filter((r) => r.url.includes('/manifests/')).every((r) => r.accept === MANIFEST_ACCEPT)).toBe(true);
    // One unauthenticated attempt, then token-bearing reads only.
    expect(seen.filter((r) => r.url.includes('/manifests/') && r.authorization === undefined)).toHaveLength(1);
    expect(reader.stats).toMatchObject({ manifests: 2 });
  });

  test('an image manifest references nothing; the accept header names the four manifest types', async () => {
    const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] });
    handle = (_request, response) => response.writeHead(200).end(body);
    const reads = await openRegistry(location(), { deadline: Date.now() + 10_000 }).read([digestOf(body)]);
    expect(reads.get(digestOf(body))).toEqual({ references: [] });
    expect(MANIFEST_ACCEPT.split(', ').sort()).toEqual([
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
    ]);
  });

  test('retries 429 after its Retry-After and 5xx after a backoff, then reads', async () => {
    const answers = [429, 503, 500, 200];
    handle = (_request, response) => {
      const status = answers.shift()!;
      if (status === 429) response.writeHead(429, { 'retry-after': '2' }).end();
      else if (status !== 200) response.writeHead(status).end();
      else response.writeHead(200).end(index.manifest);
    };
    const time = clock();
    const reader = openRegistry(location(), { deadline: time.now() + 60_000, ...time });
    const reads = await reader.read([index.digest]);
    expect(reads.get(index.digest)).toEqual({ references: index.references });
    expect(time.waits[0]).toBe(2000);
    expect(time.waits.length).toBe(3);
    expect(reader.stats).toMatchObject({ requests: 4, throttled: 1 });
  });

  test('a Retry-After past the deadline ends the read at once, as unknown, with the cause', async () => {
    let requests = 0;
    handle = (_request, response) => void (requests++, response.writeHead(429, { 'retry-after': '120' }).end());
    const time = clock();
    const reads = await openRegistry(location(), { deadline: time.now() + 30_000, ...time }).read([index.digest]);
    expect(requests).toBe(1);
    expect(time.waits).toEqual([]);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toMatch(/HTTP 429, Retry-After 120 s is past the event's deadline/);
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
    handle = (_request, response) => void (requests++, response.writeHead(status).end());
    const reads = await openRegistry(location(), { deadline: Date.now() + 10_000 }).read([index.digest]);
    expect(requests).toBe(1);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toContain(cause);
  });

  test('a manifest whose bytes do not hash to the digest asked for is unknown', async () => {
    handle = (_request, response) => response.writeHead(200).end(index.manifest.replace(amd64.digest, singleImage('x').digest));
    const reads = await openRegistry(location(), { deadline: Date.now() + 10_000 }).read([index.digest]);
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
    const reads = await openRegistry(location(), { deadline: Date.now() + 10_000 }).read([index.digest]);
    expect((reads.get(index.digest) as { unknown: string }).unknown).toMatch(
      /^token request GET .*scope=repository%3Aa1b2c3d4%2Fapp%3Apull: HTTP 403$/,
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
    const reads = await openRegistry(location(), { deadline: Date.now() + 10_000 }).read(digests);
    expect(reads.size).toBe(12);
    expect(most).toBe(DEFAULT_READ_CONCURRENCY);
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
    expect(parseBearerChallenge('Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws"')).toEqual({
      realm: 'https://public.ecr.aws/token/',
      params: { service: 'public.ecr.aws', scope: 'aws' },
    });
    expect(parseBearerChallenge('Basic realm="x"')).toBeUndefined();
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});
