/**
 * Registry authentication (lambda/registry-auth.ts) against the local ECR
 * Public: GetAuthorizationToken's credentials presented as Basic to the realm
 * of the bearer challenge give authenticated pulls; every way of not getting
 * them falls back to anonymous pulls and says why; and no token, password or
 * bearer ever shows in anything the module returns or prints.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { inspect } from 'node:util';
import {
  BearerToken,
  RegistryAuthorizer,
  Secret,
  credentialsMayGoTo,
  describeRegistryAccess,
  fetchRegistryCredentials,
  registryAuthorizer,
} from '../../lambda/registry-auth';
import { AUTHORIZATION_TOKEN_VALIDITY_MS, EcrPublicEmulator, singleImage, startEcrPublicEmulator } from '../../local/ecr-public';
import { emulatorClient } from '../support/local-ecr-public';

let emulator: EcrPublicEmulator;
let clock = Date.parse('2026-06-01T00:00:00Z');
const REPOSITORY = 'auth/app';
let manifestUrl = '';
/** Everything printed while the tests ran, everything the module returned, and every credential sent, for the secret check at the end. */
const printed: string[] = [];
const returned: unknown[] = [];
const secrets = new Set<string>();

/** Keeps the credentials in these Authorization headers: the Basic token, the user:password it encodes, the password; bearer tokens. */
function harvest(headers: ReadonlyArray<string | undefined>): void {
  for (const header of headers) {
    const [scheme, value] = String(header ?? '').split(' ');
    if (scheme === 'Basic' && value) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      secrets
        .add(value)
        .add(decoded)
        .add(decoded.slice(decoded.indexOf(':') + 1));
    } else if (scheme === 'Bearer' && value) secrets.add(value);
  }
}

const clientIn = (region: string) => emulatorClient(emulator.endpoint, region);

/** The challenge a manifest read without a token gets. */
async function challenge(): Promise<string> {
  const answer = await fetch(manifestUrl);
  expect(answer.status).toBe(401);
  return answer.headers.get('www-authenticate')!;
}

/** An authorizer on the emulator, with credentials from GetAuthorizationToken signed for `region`. */
function authorizer(region = 'us-east-1', overrides: Partial<Parameters<typeof registryAuthorizer>[0]> = {}): RegistryAuthorizer {
  return registryAuthorizer({
    registryBase: emulator.registryEndpoint,
    repositoryPath: `emulated/${REPOSITORY}`,
    credentials: async () => {
      const client = clientIn(region);
      try {
        const got = await fetchRegistryCredentials(client);
        returned.push(got);
        return got;
      } finally {
        client.destroy();
      }
    },
    ...overrides,
  });
}

/** Authorizes, reads the manifest with the token, and says which class the emulator counted the pull in. */
async function readWith(auth: RegistryAuthorizer): Promise<{ token: BearerToken; counted: string }> {
  const before = emulator.pulls();
  const token = await auth.authorize(await challenge());
  returned.push(token, auth.access);
  if ('cause' in token) throw new Error(token.cause);
  const answer = await fetch(manifestUrl, {
    headers: { authorization: token.header.reveal(), accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  expect(answer.status).toBe(200);
  const after = emulator.pulls();
  const counted =
    after.authenticated.pulls > before.authenticated.pulls ? 'authenticated' : after.anonymous.pulls > before.anonymous.pulls ? 'anonymous' : 'none';
  return { token, counted };
}

/** A server on a loopback port whose answers the test writes; it records the Authorization headers it receives. */
async function fakeRealm(answer: (request: http.IncomingMessage, response: http.ServerResponse) => void) {
  const seen: Array<string | undefined> = [];
  const server = http.createServer((request, response) => {
    seen.push(request.headers.authorization);
    harvest([request.headers.authorization]);
    answer(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const originals = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug };
beforeAll(async () => {
  emulator = await startEcrPublicEmulator({ now: () => clock });
  emulator.seed(REPOSITORY, [singleImage('one', { tags: ['v1'] })]);
  manifestUrl = `${emulator.registryEndpoint}/v2/emulated/${REPOSITORY}/manifests/v1`;
  for (const level of Object.keys(originals) as Array<keyof typeof originals>) {
    console[level] = (...args: unknown[]) => {
      printed.push(args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: 10 }))).join(' '));
    };
  }
});
afterAll(async () => {
  Object.assign(console, originals);
  await emulator.close();
});
beforeEach(() => {
  emulator.resetStats();
  emulator.faults.api.forced.length = 0;
});
afterEach(() =>
  harvest([...emulator.faults.registry.requests, ...emulator.faults.api.requests].map((r) => r.headers.authorization as string | undefined)),
);

describe('authenticated reads', () => {
  test('GetAuthorizationToken, then Basic AWS:<password> to the realm of the challenge: pulls count against the authenticated quota', async () => {
    const auth = authorizer();
    const { token, counted } = await readWith(auth);
    expect(counted).toBe('authenticated');
    expect(token.access).toEqual({ kind: 'authenticated' });
    expect(auth.access).toEqual({ kind: 'authenticated' });
    expect(describeRegistryAccess(token.access)).toBe('authenticated registry reads');
    // The realm got Basic credentials once, on the challenge's realm URL with its service and scope.
    const tokenRequests = emulator.faults.registry.requests.filter((r) => r.operation.startsWith('GET /token'));
    expect(tokenRequests.map((r) => String(r.headers.authorization).split(' ')[0])).toEqual(['Basic']);
  });

  test('credentials are asked for once per authorizer, whatever the number of challenges', async () => {
    const auth = authorizer();
    for (let i = 0; i < 3; i++) expect((await readWith(auth)).counted).toBe('authenticated');
    expect(emulator.faults.api.requests.filter((r) => r.operation.endsWith('GetAuthorizationToken'))).toHaveLength(1);
  });
});

describe('falls back to anonymous reads, and says why', () => {
  test('GetAuthorizationToken refused by IAM', async () => {
    emulator.faults.api.forced.push('accessDenied');
    const { token, counted } = await readWith(authorizer());
    expect(counted).toBe('anonymous');
    expect(token.access).toEqual({
      kind: 'anonymous',
      why: expect.stringMatching(
        /^GetAuthorizationToken failed: AccessDeniedException: User is not authorized to perform: ecr-public:GetAuthorizationToken/,
      ),
    });
    expect(describeRegistryAccess(token.access)).toMatch(/^anonymous registry reads: GetAuthorizationToken failed: AccessDeniedException/);
  });

  test('GetAuthorizationToken called in us-west-2, where the service does not answer it', async () => {
    const { token, counted } = await readWith(authorizer('us-west-2'));
    expect(counted).toBe('anonymous');
    expect(token.access).toEqual({
      kind: 'anonymous',
      why: 'GetAuthorizationToken failed: UnsupportedCommandException: GetAuthorizationToken command is only supported in us-east-1.',
    });
  });

  test('the realm refuses expired credentials: 400 DENIED, then not asked again with them', async () => {
    const stale = await fetchRegistryCredentials(clientIn('us-east-1'));
    clock += AUTHORIZATION_TOKEN_VALIDITY_MS;
    const auth = authorizer('us-east-1', { credentials: async () => stale });
    const first = await readWith(auth);
    expect(first.counted).toBe('anonymous');
    expect(first.token.access).toEqual({
      kind: 'anonymous',
      why: 'the token realm refused the credentials: HTTP 400 DENIED: Your Authorization Token is invalid.',
    });
    await readWith(auth);
    const basic = emulator.faults.registry.requests.filter((r) => String(r.headers.authorization ?? '').startsWith('Basic'));
    expect(basic).toHaveLength(1);
  });

  test('a realm on another origin never sees the credentials', async () => {
    const other = await fakeRealm((_request, response) => response.end(JSON.stringify({ token: 'from-elsewhere' })));
    try {
      const auth = authorizer();
      const token = await auth.authorize(`Bearer realm="${other.url}/token",service="public.ecr.aws",scope="aws"`);
      returned.push(token);
      expect(token).toMatchObject({
        access: { kind: 'anonymous', why: `the token realm ${other.url} is not the registry's own HTTPS origin: credentials are not sent there` },
      });
      expect(other.seen).toEqual([undefined]);
    } finally {
      await other.close();
    }
  });

  test('a realm that redirects the credentialed request is not followed; a body that echoes the credentials is scrubbed', async () => {
    let credentialed = 0;
    const hostile = await fakeRealm((request, response) => {
      if (request.headers.authorization?.startsWith('Basic')) {
        credentialed++;
        if (credentialed === 1) {
          response.writeHead(302, { location: 'http://127.0.0.2:1/steal' });
          response.end();
        } else {
          response.writeHead(400, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ errors: [{ code: 'DENIED', message: `bad credentials ${request.headers.authorization}` }] }));
        }
        return;
      }
      response.end(JSON.stringify({ token: 'anonymous-token' }));
    });
    try {
      for (const attempt of [1, 2]) {
        const auth = authorizer('us-east-1', { registryBase: hostile.url });
        const token = await auth.authorize(`Bearer realm="${hostile.url}/token",service="public.ecr.aws",scope="aws"`);
        returned.push(token);
        const why = (token as BearerToken).access.kind === 'anonymous' ? ((token as BearerToken).access as { why: string }).why : '';
        expect(why).toMatch(
          attempt === 1
            ? /^the token realm refused the credentials: HTTP 302$/
            : /^the token realm refused the credentials: HTTP 400 DENIED: bad credentials Basic \[secret\]$/,
        );
      }
      expect(credentialed).toBe(2);
    } finally {
      await hostile.close();
    }
  });

  test('no token at all: the cause, with why authenticated reads were not possible either', async () => {
    const down = await fakeRealm((_request, response) => {
      response.writeHead(503);
      response.end('unavailable');
    });
    try {
      const auth = authorizer('us-east-1', { registryBase: down.url });
      const token = await auth.authorize(`Bearer realm="${down.url}/token",service="public.ecr.aws"`);
      returned.push(token);
      expect(token).toEqual({
        cause: `no registry token: anonymous token request GET ${down.url}/token: HTTP 503 unavailable (and authenticated reads are not possible: the token realm refused the credentials: HTTP 503 unavailable)`,
      });
      expect(down.seen.map((header) => header?.split(' ')[0])).toEqual(['Basic', undefined]);
      // The scope the challenge did not name: the repository's pull scope.
    } finally {
      await down.close();
    }
  });

  test('a challenge that is not Bearer, or whose realm is not a URL, is a cause', async () => {
    const auth = authorizer();
    expect(await auth.authorize('Basic realm="registry"')).toEqual({
      cause: 'the registry asked for authentication this reader does not do: Basic realm="registry"',
    });
    expect(await auth.authorize('Bearer realm="not a url"')).toEqual({ cause: "the bearer challenge's realm is not a URL: not a url" });
  });
});

describe('credentials', () => {
  test.each([
    ['no authorization data', {}, 'GetAuthorizationToken gave no authorizationToken'],
    [
      'a token that is not base64 of user:password',
      { authorizationData: { authorizationToken: Buffer.from('nocolon').toString('base64') } },
      'is not the base64 of user:password',
    ],
  ])('%s: refused, and why', async (_what, answer, why) => {
    const got = await fetchRegistryCredentials({ send: async () => answer });
    expect('refused' in got && got.refused).toContain(why);
  });

  test('go only to the registry’s own origin, over HTTPS or to a loopback address', () => {
    expect(credentialsMayGoTo(new URL('https://public.ecr.aws/token/'), 'https://public.ecr.aws')).toBe(true);
    expect(credentialsMayGoTo(new URL('http://public.ecr.aws/token/'), 'http://public.ecr.aws')).toBe(false);
    expect(credentialsMayGoTo(new URL('https://evil.example/token'), 'https://public.ecr.aws')).toBe(false);
    expect(credentialsMayGoTo(new URL('http://127.0.0.1:9/token'), 'http://127.0.0.1:9')).toBe(true);
    expect(credentialsMayGoTo(new URL('http://127.0.0.1:9/token'), 'http://127.0.0.1:10')).toBe(false);
  });

  test('a Secret prints as [secret] in a string, JSON and util.inspect', () => {
    const secret = new Secret('hunter2-hunter2');
    expect([`${secret}`, JSON.stringify({ secret }), inspect({ secret })]).toEqual(['[secret]', '{"secret":"[secret]"}', '{ secret: [secret] }']);
    expect(secret.reveal()).toBe('hunter2-hunter2');
  });
});

describe('at the end', () => {
  test('no password, authorization token or bearer token shows in anything printed or returned, however printed', () => {
    expect(secrets.size).toBeGreaterThan(10);
    printed.push(
      ...returned.map((value) => JSON.stringify(value) ?? ''),
      ...returned.map((value) => inspect(value, { depth: 10 })),
      ...returned.map((value) => String(value)),
    );
    for (const value of returned) {
      if (value && typeof value === 'object' && 'access' in value && (value as BearerToken).access.kind === 'anonymous')
        printed.push(describeRegistryAccess((value as BearerToken).access));
      if (value && typeof value === 'object' && 'cause' in value) printed.push(String((value as { cause: string }).cause));
    }
    expect(printed.length).toBeGreaterThan(30);
    for (const line of printed) for (const secret of secrets) expect({ line, leaks: line.includes(secret) }).toEqual({ line, leaks: false });
  });
});
