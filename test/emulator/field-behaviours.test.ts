/**
 * The local ECR Public, closer to the field: what a client of ECR Public and
 * its registry meets beyond the happy path, each behind a switch so that a
 * test of the handler can meet it too. A 429 without Retry-After; a token that
 * expires (401 `invalid_token`) or lacks the repository's scope (401
 * `insufficient_scope`); a challenge written in another order or unquoted; a
 * manifest read redirected to another origin; OCI 1.1 referrers (`subject`,
 * `artifactType`); a listing whose order is not push order, or that leaves
 * the manifest's media type out; a per-image failure of the service's own; a
 * push that lands between two requests of the client.
 */
import { BatchDeleteImageCommand, DescribeImagesCommand, ECRPUBLICClient, ImageDetail } from '@aws-sdk/client-ecr-public';
import { parseBearerChallenge } from '../../lambda/registry';
import {
  EcrPublicEmulator,
  MEDIA_TYPES,
  bearerChallenge,
  buildxIndex,
  cosignSignature,
  notationSignature,
  sbomReferrer,
  singleImage,
  startEcrPublicEmulator,
  startEcrPublicEmulatorProcess,
} from '../../local/ecr-public';
import { emulatorClient } from '../support/local-ecr-public';

let emulator: EcrPublicEmulator;
let client: ECRPUBLICClient;
let count = 0;
const ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest].join(', ');

beforeAll(async () => {
  emulator = await startEcrPublicEmulator();
  client = emulatorClient(emulator.endpoint);
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});
afterEach(() => {
  emulator.restoreBehaviours();
  emulator.faults.registry.retryAfterSeconds = 1;
});

const repository = () => {
  const name = `field/repo-${++count}`;
  emulator.createRepository(name);
  return name;
};
const manifestUrl = (name: string, reference: string) => `${emulator.registryEndpoint}/v2/emulated/${name}/manifests/${reference}`;
/** A token for the scopes given, from the realm of the challenge. */
async function tokenFor(challenge: string, ...scopes: string[]): Promise<string> {
  const { realm } = parseBearerChallenge(challenge)!;
  const url = new URL(realm);
  url.searchParams.set('service', 'public.ecr.aws');
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return `Bearer ${((await (await fetch(url)).json()) as { token: string }).token}`;
}

describe('the registry', () => {
  test('429 without Retry-After, when told: a client must back off on its own', async () => {
    emulator.faults.registry.retryAfterSeconds = null;
    emulator.faults.registry.forced.push('throttle');
    const limited = await fetch(`${emulator.registryEndpoint}/v2/`);
    expect(limited.status).toBe(429);
    expect(limited.headers.has('retry-after')).toBe(false);
  });

  test('a token good for N requests then answers 401 invalid_token, with a challenge to answer again', async () => {
    const name = repository();
    const [digest] = emulator.seed(name, [singleImage('t1')]);
    emulator.registryBehaviour.tokenUses = 2;
    const challenge = (await fetch(manifestUrl(name, digest))).headers.get('www-authenticate')!;
    const authorization = await tokenFor(challenge, 'aws');
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(manifestUrl(name, digest), { headers: { accept: ACCEPT, authorization } })).status);
    expect(statuses).toEqual([200, 200, 401]);
    const expired = await fetch(manifestUrl(name, digest), { headers: { accept: ACCEPT, authorization } });
    expect(parseBearerChallenge(expired.headers.get('www-authenticate')!)).toEqual({
      realm: `${emulator.registryEndpoint}/token`,
      params: { service: 'public.ecr.aws', scope: 'aws', error: 'invalid_token' },
    });
    const fresh = await tokenFor(challenge, 'aws');
    expect((await fetch(manifestUrl(name, digest), { headers: { accept: ACCEPT, authorization: fresh } })).status).toBe(200);
    emulator.registryBehaviour.tokenUses = undefined;
    emulator.registryBehaviour.tokenTtlMs = 0;
    const stale = await tokenFor(challenge, 'aws');
    expect((await fetch(manifestUrl(name, digest), { headers: { accept: ACCEPT, authorization: stale } })).status).toBe(401);
  });

  test('a token for scope aws lacks the repository when told: 401 insufficient_scope asks for repository:<path>:pull', async () => {
    const name = repository();
    const [digest] = emulator.seed(name, [singleImage('s1')]);
    emulator.registryBehaviour.requireRepositoryScope = true;
    const challenge = (await fetch(manifestUrl(name, digest))).headers.get('www-authenticate')!;
    expect(parseBearerChallenge(challenge)?.params.scope).toBe('aws');
    const narrow = await fetch(manifestUrl(name, digest), { headers: { accept: ACCEPT, authorization: await tokenFor(challenge, 'aws') } });
    expect(narrow.status).toBe(401);
    const asked = parseBearerChallenge(narrow.headers.get('www-authenticate')!)!;
    expect(asked.params).toMatchObject({ error: 'insufficient_scope', scope: `repository:emulated/${name}:pull` });
    const scoped = await tokenFor(challenge, asked.params.scope);
    expect((await fetch(manifestUrl(name, digest), { headers: { accept: ACCEPT, authorization: scoped } })).status).toBe(200);
  });

  test.each(['reordered', 'unquoted'] as const)('the challenge %s, as RFC 7235 allows, says the same thing', async (style) => {
    emulator.registryBehaviour.challengeStyle = style;
    const header = (await fetch(`${emulator.registryEndpoint}/v2/`)).headers.get('www-authenticate')!;
    expect(header).toMatch(/realm="[^"]+"$/);
    if (style === 'unquoted') expect(header).toContain('service=public.ecr.aws, scope=aws');
    expect(parseBearerChallenge(header)).toEqual({
      realm: `${emulator.registryEndpoint}/token`,
      params: { service: 'public.ecr.aws', scope: 'aws' },
    });
    expect(
      bearerChallenge(
        [
          ['realm', 'r'],
          ['scope', 'repository:a/b:pull'],
        ],
        'unquoted',
      ),
    ).toBe('Bearer scope="repository:a/b:pull", realm=r');
  });

  test('a manifest read redirected to another origin, which serves it without a token to whoever has the signed URL', async () => {
    const name = repository();
    const group = buildxIndex('redirected', { tags: ['v1'] });
    emulator.seed(name, group.images);
    emulator.registryBehaviour.redirectManifests = true;
    const challenge = (await fetch(manifestUrl(name, 'v1'))).headers.get('www-authenticate')!;
    const authorization = await tokenFor(challenge, 'aws');
    const redirect = await fetch(manifestUrl(name, 'v1'), { headers: { accept: ACCEPT, authorization }, redirect: 'manual' });
    expect(redirect.status).toBe(307);
    const location = new URL(redirect.headers.get('location')!);
    expect(location.origin).toBe(emulator.redirectEndpoint);
    expect(location.origin).not.toBe(new URL(emulator.registryEndpoint).origin);
    const served = await fetch(location);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe(group.index.manifest);
    location.searchParams.set('X-Amz-Signature', 'forged');
    expect((await fetch(location)).status).toBe(403);
    // The recorder names the other origin's requests, headers included.
    expect(emulator.faults.registry.requests.some((r) => r.operation.startsWith('GET /cdn/emulated/'))).toBe(true);
  });
});

describe('OCI 1.1 referrers', () => {
  test('signatures and SBOMs are untagged image manifests whose subject names the image; DescribeImages gives their artifactType', async () => {
    const name = repository();
    const image = singleImage('signed', { format: 'oci', tags: ['v1'], pushedAt: Date.UTC(2026, 0, 1) });
    const referrers = [cosignSignature(image), notationSignature(image), sbomReferrer(image)];
    emulator.seed(name, [image, ...referrers]);
    const held = new Map(emulator.images(name).map((i) => [i.digest, i]));
    for (const [referrer, artifactType] of [
      [referrers[0], 'application/vnd.dev.cosign.artifact.sig.v1+json'],
      [referrers[1], 'application/vnd.cncf.notary.signature'],
      [referrers[2], 'application/spdx+json'],
    ] as const) {
      expect(held.get(referrer.digest)).toMatchObject({
        tags: [],
        mediaType: MEDIA_TYPES.ociManifest,
        subject: image.digest,
        artifactMediaType: artifactType,
      });
      expect(JSON.parse(referrer.manifest)).toMatchObject({ artifactType, config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2 } });
      expect(referrer.pushedAt).toBe(Date.UTC(2026, 0, 1) + 1000);
    }
    const { imageDetails } = await client.send(new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageDigest: referrers[0].digest }] }));
    expect(imageDetails![0]).toMatchObject({
      imageManifestMediaType: MEDIA_TYPES.ociManifest,
      artifactMediaType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    });
    expect(imageDetails![0].imageTags).toBeUndefined();
  });
});

describe('the JSON API', () => {
  async function listAll(name: string, maxResults: number, between?: () => Promise<void>): Promise<ImageDetail[]> {
    const all: ImageDetail[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new DescribeImagesCommand({ repositoryName: name, maxResults, nextToken }));
      all.push(...page.imageDetails!);
      nextToken = page.nextToken;
      if (nextToken) await between?.();
      between = undefined;
    } while (nextToken);
    return all;
  }

  test('a listing in digest order, not push order, pages through every image even when images go in between', async () => {
    const name = repository();
    const pushed = emulator.seed(
      name,
      Array.from({ length: 9 }, (_, i) => singleImage(`order-${i}`)),
    );
    emulator.listing.order = 'digest';
    const listed = (await listAll(name, 4)).map((d) => d.imageDigest!);
    expect(listed).toEqual([...pushed].sort());
    expect(listed).not.toEqual(pushed);
    // Deleting the first page's images between pages skips nothing that is left.
    const firstPage = listed.slice(0, 4);
    const after = (
      await listAll(name, 4, async () => {
        await client.send(new BatchDeleteImageCommand({ repositoryName: name, imageIds: firstPage.map((imageDigest) => ({ imageDigest })) }));
      })
    ).map((d) => d.imageDigest!);
    expect(after).toEqual(listed);
  });

  test('a listing without imageManifestMediaType, when told (an artifact type is still given)', async () => {
    const name = repository();
    const image = singleImage('untyped', { format: 'oci' });
    emulator.seed(name, [image]);
    emulator.listing.omitManifestMediaType = true;
    const [detail] = await listAll(name, 10);
    expect(detail.imageManifestMediaType).toBeUndefined();
    expect(detail.artifactMediaType).toBe('application/vnd.oci.image.config.v1+json');
  });

  test('a per-image failure of the service (KmsError) instead of a deletion, and a push between two requests of the client', async () => {
    const name = repository();
    const [a, b] = emulator.seed(name, [singleImage('kms-a', { tags: ['a'] }), singleImage('kms-b', { tags: ['b'] })]);
    emulator.deletionFailures.set(a, 'KmsError');
    const moved = singleImage('kms-c');
    emulator.beforeNext('BatchDeleteImage', () => emulator.seed(name, [{ ...moved, tags: ['b'] }]));
    const answer = await client.send(
      new BatchDeleteImageCommand({ repositoryName: name, imageIds: [{ imageDigest: a }, { imageTag: 'b', imageDigest: b }] }),
    );
    expect(answer.failures!.map((f) => f.failureCode)).toEqual(['KmsError', 'ImageTagDoesNotMatchDigest']);
    expect(emulator.snapshot(name)).toEqual(
      new Map([
        [a, ['a']],
        [b, []],
        [moved.digest, ['b']],
      ]),
    );
  });
});

test('the child process takes the same switches through its control API', async () => {
  const child = await startEcrPublicEmulatorProcess();
  try {
    await child.control('configure', {
      registryBehaviour: { challengeStyle: 'unquoted' },
      listing: { order: 'digest' },
      registry: { retryAfterSeconds: null, forced: ['throttle'] },
    });
    const limited = await fetch(`${child.registryEndpoint}/v2/`);
    expect([limited.status, limited.headers.has('retry-after')]).toEqual([429, false]);
    expect((await fetch(`${child.registryEndpoint}/v2/`)).headers.get('www-authenticate')).toContain('service=public.ecr.aws');
  } finally {
    await child.stop();
  }
});

test('restoreBehaviours puts every switch a test sets back as ECR Public behaves', () => {
  emulator.referencedImageDeletion = 'allow';
  Object.assign(emulator.listing, { order: 'digest', omitManifestMediaType: true });
  Object.assign(emulator.registryBehaviour, {
    tokenUses: 1,
    tokenTtlMs: 5,
    requireRepositoryScope: true,
    challengeStyle: 'unquoted',
    redirectManifests: true,
  });
  emulator.deletionFailures.set(`sha256:${'a'.repeat(64)}`, 'KmsError');
  emulator.restoreBehaviours();
  expect(emulator.referencedImageDeletion).toBe('refuse');
  expect({ ...emulator.listing }).toEqual({ order: 'push', omitManifestMediaType: false });
  expect({ ...emulator.registryBehaviour }).toEqual({
    tokenUses: undefined,
    tokenTtlMs: undefined,
    requireRepositoryScope: false,
    challengeStyle: 'quoted',
    redirectManifests: false,
  });
  expect(emulator.deletionFailures.size).toBe(0);
});
