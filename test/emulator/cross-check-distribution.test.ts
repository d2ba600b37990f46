/**
 * The emulator's registry API against the CNCF distribution registry (Debian's
 * docker-registry, 2.8): the same OCI index (buildx-shaped, with attestations),
 * Docker manifest list and index of indexes, pushed to both under the same
 * path, read back identically: bytes, Docker-Content-Digest, Content-Type,
 * 404 for unknown references, and Accept negotiation. One reader serves both:
 * it answers the emulator's bearer challenge (the distribution registry here
 * runs without auth).
 *
 * Named difference: for a repository that does not exist, the distribution
 * registry answers MANIFEST_UNKNOWN; the emulator NAME_UNKNOWN, the OCI
 * distribution spec's code for it. Both answer 404.
 */
import { BackendName, RunningBackend, describeWithBackends, startDockerRegistry } from '../support/backends';
import {
  EcrPublicEmulator,
  MEDIA_TYPES,
  SeedGroup,
  SeedImage,
  buildxIndex,
  dockerManifestList,
  nestedIndex,
  startEcrPublicEmulator,
} from '../../local/ecr-public';

const BACKENDS: BackendName[] = ['docker-registry'];
const ALL_TYPES = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];

interface Read {
  readonly status: number;
  readonly contentType: string | null;
  readonly digest: string | null;
  readonly body: string;
  /** The first error code of an error body. */
  readonly code?: string;
}

/** GET a manifest, answering a bearer challenge once. */
async function readManifest(endpoint: string, path: string, reference: string, accept: string | undefined): Promise<Read> {
  const url = `${endpoint}/v2/${path}/manifests/${reference}`;
  const headers: Record<string, string> = accept === undefined ? {} : { accept };
  let answer = await fetch(url, { headers });
  const challenge = answer.headers.get('www-authenticate');
  if (answer.status === 401 && challenge?.startsWith('Bearer ')) {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const tokenUrl = new URL(params.realm);
    tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', params.scope);
    const { token } = (await (await fetch(tokenUrl)).json()) as { token: string };
    answer = await fetch(url, { headers: { ...headers, authorization: `Bearer ${token}` } });
  }
  const body = await answer.text();
  const ok = answer.status === 200;
  return {
    status: answer.status,
    contentType: ok ? answer.headers.get('content-type') : null,
    digest: ok ? answer.headers.get('docker-content-digest') : null,
    body: ok ? body : '',
    ...(ok ? {} : { code: (JSON.parse(body) as { errors: Array<{ code: string }> }).errors[0].code }),
  };
}

/** Pushes blobs and manifests (children first) to the distribution registry, as `docker push` does. */
async function pushToDistribution(endpoint: string, path: string, images: readonly SeedImage[]): Promise<void> {
  for (const image of images) {
    for (const blob of image.blobs) {
      const started = await fetch(`${endpoint}/v2/${path}/blobs/uploads/`, { method: 'POST' });
      expect(started.status).toBe(202);
      const location = new URL(started.headers.get('location')!, endpoint);
      location.searchParams.set('digest', blob.digest);
      const put = await fetch(location, { method: 'PUT', body: blob.content, headers: { 'content-type': 'application/octet-stream' } });
      expect(put.status).toBe(201);
    }
    for (const reference of [image.digest, ...image.tags]) {
      const put = await fetch(`${endpoint}/v2/${path}/manifests/${reference}`, {
        method: 'PUT',
        body: image.manifest,
        headers: { 'content-type': image.mediaType },
      });
      expect({ reference, status: put.status, digest: put.headers.get('docker-content-digest') }).toEqual({
        reference,
        status: 201,
        digest: image.digest,
      });
    }
  }
}

describeWithBackends(BACKENDS, 'the cross-check of the registry API against the distribution registry')(
  'the emulator reads manifests back as the distribution registry does',
  () => {
    let distribution: RunningBackend;
    let emulator: EcrPublicEmulator;
    const repositoryName = 'cross/check';
    const path = `emulated/${repositoryName}`;
    const buildx = buildxIndex('xc-buildx', { tags: ['v1'], platformTags: (p) => [`v1-${p.split('/')[1]}`] });
    const list = dockerManifestList('xc-list', { tags: ['v2'] });
    const nested = nestedIndex('xc-nested', [buildxIndex('xc-inner', { attestations: false }), dockerManifestList('xc-inner-list')], {
      tags: ['multi'],
    });
    const groups: Record<string, SeedGroup> = { 'a buildx OCI index': buildx, 'a Docker manifest list': list, 'an index of indexes': nested };
    const every = [...buildx.images, ...list.images, ...nested.images];

    beforeAll(async () => {
      distribution = await startDockerRegistry();
      emulator = await startEcrPublicEmulator();
      await pushToDistribution(distribution.endpoint, path, every);
      emulator.seed(repositoryName, every);
    }, 60_000);
    afterAll(async () => {
      await emulator?.close();
      await distribution?.stop();
    });

    const both = async (reference: string, accept: string | undefined) => ({
      distribution: await readManifest(distribution.endpoint, path, reference, accept),
      emulator: await readManifest(emulator.registryEndpoint, path, reference, accept),
    });

    test.each(Object.keys(groups))('%s: every manifest by digest, the same bytes, digest and media type', async (name) => {
      for (const image of groups[name].images) {
        const read = await both(image.digest, ALL_TYPES.join(', '));
        expect(read.emulator).toEqual(read.distribution);
        expect(read.emulator).toMatchObject({ status: 200, digest: image.digest, contentType: image.mediaType, body: image.manifest });
      }
    });

    test('tags: the index, the list, the index of indexes and per-architecture tags', async () => {
      for (const tag of ['v1', 'v2', 'multi', 'v1-amd64', 'v1-arm64']) {
        const read = await both(tag, ALL_TYPES.join(', '));
        expect({ tag, ...read.emulator }).toEqual({ tag, ...read.distribution });
        expect(read.emulator.status).toBe(200);
      }
    });

    test('unknown references: 404 MANIFEST_UNKNOWN from both', async () => {
      for (const reference of ['no-such-tag', `sha256:${'3'.repeat(64)}`]) {
        const read = await both(reference, ALL_TYPES.join(', '));
        expect(read.emulator).toEqual(read.distribution);
        expect(read.emulator).toMatchObject({ status: 404, code: 'MANIFEST_UNKNOWN' });
      }
    });

    test('an unknown repository: 404 from both (codes differ, see the header)', async () => {
      const distributionRead = await readManifest(distribution.endpoint, 'emulated/no-such', 'v1', ALL_TYPES.join(', '));
      const emulatorRead = await readManifest(emulator.registryEndpoint, 'emulated/no-such', 'v1', ALL_TYPES.join(', '));
      expect([distributionRead.status, emulatorRead.status]).toEqual([404, 404]);
      expect([distributionRead.code, emulatorRead.code]).toEqual(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    });

    const accepts = [undefined, '*/*', ...ALL_TYPES, `${MEDIA_TYPES.dockerManifest}, ${MEDIA_TYPES.ociManifest}`];
    const samples: Array<[string, () => string]> = [
      ['the OCI index by digest', () => buildx.index.digest],
      ['the OCI index by tag', () => 'v1'],
      ['an OCI platform image', () => buildx.images[0].digest],
      ['an attestation manifest', () => buildx.images[2].digest],
      ['the Docker manifest list by digest', () => list.index.digest],
      ['the Docker manifest list by tag (rewritten for old clients)', () => 'v2'],
      ['a Docker v2 image', () => list.images[0].digest],
      ['the index of indexes', () => 'multi'],
    ];
    test.each(samples)('Accept negotiation for %s: the same answer to every Accept header', async (_what, reference) => {
      for (const accept of accepts) {
        const read = await both(reference(), accept);
        expect({ accept, ...read.emulator }).toEqual({ accept, ...read.distribution });
      }
    });
  },
);
