/**
 * The registry reader against a real OCI registry: the CNCF distribution
 * registry (Debian package `docker-registry`). Manifests are pushed as a
 * client pushes them (blobs, platform manifests, then the OCI index and the
 * Docker manifest list that reference them), and the reader must find exactly
 * the references the registry stored, under the digests the registry computed.
 */
import { openRegistry } from '../../lambda/registry';
import { RunningBackend, describeWithBackends, startDockerRegistry } from '../support/backends';
import { digestOf } from '../../local/ecr-public';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const REPO = 'a1b2c3d4/app';

describeWithBackends(['docker-registry'], 'the registry reader cross-check')('reading manifests from the CNCF distribution registry', () => {
  let registry: RunningBackend | undefined;
  let base = '';

  beforeAll(async () => {
    registry = await startDockerRegistry();
    base = registry.endpoint;
  }, 40_000);

  afterAll(async () => {
    await registry?.stop();
  });

  async function pushBlob(content: string): Promise<{ digest: string; size: number }> {
    const digest = digestOf(content);
    const start = await fetch(`${base}/v2/${REPO}/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    const location = new URL(start.headers.get('location')!, base);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', body: content, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status).toBe(201);
    return { digest, size: Buffer.byteLength(content) };
  }

  async function pushManifest(mediaType: string, manifest: object, reference?: string): Promise<{ digest: string; size: number }> {
    const body = JSON.stringify(manifest);
    const digest = digestOf(body);
    const put = await fetch(`${base}/v2/${REPO}/manifests/${reference ?? digest}`, { method: 'PUT', body, headers: { 'content-type': mediaType } });
    expect(put.status).toBe(201);
    // The registry computed the same digest.
    expect(put.headers.get('docker-content-digest')).toBe(digest);
    return { digest, size: Buffer.byteLength(body) };
  }

  async function platformImage(arch: string, mediaType: string, configType: string, layerType: string) {
    const config = await pushBlob(JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = await pushBlob(`layer of ${arch}`);
    return pushManifest(mediaType, {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: configType, ...config },
      layers: [{ mediaType: layerType, ...layer }],
    });
  }

  test('an OCI index (buildx shape: platforms and an attestation) and a Docker manifest list read back as their references', async () => {
    const ociConfig = 'application/vnd.oci.image.config.v1+json';
    const ociLayer = 'application/vnd.oci.image.layer.v1.tar+gzip';
    const amd64 = await platformImage('amd64', OCI_MANIFEST, ociConfig, ociLayer);
    const arm64 = await platformImage('arm64', OCI_MANIFEST, ociConfig, ociLayer);
    const attestation = await platformImage('unknown', OCI_MANIFEST, ociConfig, 'application/vnd.in-toto+json');
    const index = await pushManifest(
      OCI_INDEX,
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { mediaType: OCI_MANIFEST, ...amd64, platform: { architecture: 'amd64', os: 'linux' } },
          { mediaType: OCI_MANIFEST, ...arm64, platform: { architecture: 'arm64', os: 'linux' } },
          {
            mediaType: OCI_MANIFEST,
            ...attestation,
            platform: { architecture: 'unknown', os: 'unknown' },
            annotations: { 'vnd.docker.reference.digest': amd64.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
          },
        ],
      },
      'v1',
    );
    const dockerConfig = 'application/vnd.docker.container.image.v1+json';
    const dockerLayer = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
    const legacyAmd64 = await platformImage('amd64-legacy', DOCKER_MANIFEST, dockerConfig, dockerLayer);
    const list = await pushManifest(
      DOCKER_LIST,
      {
        schemaVersion: 2,
        mediaType: DOCKER_LIST,
        manifests: [{ mediaType: DOCKER_MANIFEST, ...legacyAmd64, platform: { architecture: 'amd64', os: 'linux' } }],
      },
      'v0',
    );
    const nested = await pushManifest(OCI_INDEX, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_INDEX, ...index }] });

    const reader = openRegistry({ base, path: REPO }, { deadline: Date.now() + 10_000 });
    const reads = await reader.read([index.digest, list.digest, nested.digest, amd64.digest]);
    expect(reads.get(index.digest)).toMatchObject({ references: [amd64.digest, arm64.digest, attestation.digest], mediaType: OCI_INDEX });
    expect(reads.get(list.digest)).toMatchObject({ references: [legacyAmd64.digest], mediaType: DOCKER_LIST });
    expect(reads.get(nested.digest)).toMatchObject({ references: [index.digest], mediaType: OCI_INDEX });
    expect(reads.get(amd64.digest)).toMatchObject({ references: [], mediaType: OCI_MANIFEST });
  });

  test('a digest the registry does not hold is unknown (HTTP 404), not "references nothing"', async () => {
    const absent = digestOf('never pushed');
    const reads = await openRegistry({ base, path: REPO }, { deadline: Date.now() + 10_000 }).read([absent]);
    expect(reads.get(absent)).toEqual({ unknown: expect.stringContaining('HTTP 404') });
  });
});
