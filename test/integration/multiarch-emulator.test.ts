/**
 * Multi-architecture images through the shipped handler bundle, against the
 * project's local ECR Public (local/ecr-public: the JSON API and the registry's
 * manifest API in one server), in both server behaviours: refusing to delete
 * an image that a remaining index lists (ImageReferencedByManifestList), or
 * allowing it, as the field report says ECR Public did. The repository has the
 * shapes buildx and docker leave: tagged OCI indexes with platform images and
 * attestations, a Docker manifest list with per-architecture tags, an index of
 * indexes, an index whose tag moved on (an orphan with its children), a child
 * shared between a kept and a deleted index, and a stray untagged image.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EcrPublicEmulator,
  MEDIA_TYPES,
  ReferencedImageDeletion,
  SeedImage,
  buildxIndex,
  digestOf,
  dockerManifestList,
  nestedIndex,
  singleImage,
  startEcrPublicEmulator,
} from '../../local/ecr-public';
import { selectionProperties } from '../support/cfn-events';
import { LocalCustomResource, ResponseServer } from '../support/local-cloudformation';

const DAY = 86_400_000;
const now = Date.now();

/** The repository, in push order, with the digests a test asserts on. */
function repositoryShape() {
  const v1 = buildxIndex('v1', { tags: ['v1'], pushedAt: now - 30 * DAY });
  const v2 = buildxIndex('v2', { tags: ['v2', 'latest'], pushedAt: now - 2 * DAY });
  const legacy = dockerManifestList('v0', { tags: ['v0'], pushedAt: now - 60 * DAY, platformTags: (p) => [`v0-${p.split('/')[1]}`] });
  const moved = buildxIndex('moved', { pushedAt: now - 20 * DAY });
  const inner = buildxIndex('inner', { pushedAt: now - 10 * DAY });
  const multi = nestedIndex('multi', [inner], { tags: ['multi'], pushedAt: now - 10 * DAY + 1 });
  // A PR build that reuses v1's amd64 image and adds one of its own.
  const own = singleImage('pr-7', { format: 'oci', pushedAt: now - 5 * DAY - 1000 });
  const shared = v1.images[0];
  const prManifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [shared, own].map((child) => ({ mediaType: child.mediaType, digest: child.digest, size: Buffer.byteLength(child.manifest) })),
  });
  const pr: SeedImage = {
    manifest: prManifest,
    mediaType: MEDIA_TYPES.ociIndex,
    digest: digestOf(prManifest),
    tags: ['pr-7'],
    pushedAt: now - 5 * DAY,
    references: [shared.digest, own.digest],
    blobs: [],
    role: 'OCI index pr-7',
  };
  const stray = singleImage('stray', { pushedAt: now - 9 * DAY });
  const images = [...legacy.images, ...v1.images, ...moved.images, ...multi.images, own, pr, stray, ...v2.images];
  return { images, v1, v2, legacy, moved, inner, multi, own, pr, stray, shared };
}

describe.each<ReferencedImageDeletion>(['refuse', 'allow'])('multi-architecture images on the local ECR Public (server: %s)', (behaviour) => {
  let emulator: EcrPublicEmulator;
  let server: ResponseServer;
  let count = 0;
  beforeAll(async () => {
    emulator = await startEcrPublicEmulator({ referencedImageDeletion: behaviour });
    server = await ResponseServer.start();
  });
  afterAll(async () => {
    await emulator.close();
    await server.close();
  });
  beforeEach(() => emulator.faults.registry.configure({}));

  function seeded() {
    const repo = `multiarch/repo-${++count}`;
    const shape = repositoryShape();
    emulator.createRepository(repo);
    emulator.seed(repo, shape.images);
    return { repo, ...shape };
  }
  const resource = (env: Record<string, string> = {}, remainingMs?: number) =>
    new LocalCustomResource(server, {
      env: { AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint, ECR_PUBLIC_REGISTRY_ENDPOINT: emulator.registryEndpoint, ...env },
      remainingMs,
    });
  const props = selectionProperties;
  /** Every manifest that a remaining index lists still exists. */
  function brokenIndexes(repo: string): string[] {
    const left = emulator.images(repo);
    const digests = new Set(left.map((image) => image.digest));
    return left.flatMap((image) => image.references.filter((child) => !digests.has(child)).map((child) => `${image.digest} -> ${child}`));
  }
  const idsOf = (json: string | undefined) =>
    new Set((JSON.parse(json ?? '[]') as Array<{ imageDigest?: string; imageTag?: string }>).map((id) => id.imageDigest ?? id.imageTag));

  test('untaggedImages: the orphaned index and its children, and the stray image, go; everything a kept index lists stays; the dry run said so', async () => {
    const s = seeded();
    const dry = await resource().create(props(s.repo, { Match: 'untagged' }, { DryRun: 'true' }));
    const real = await resource().create(props(s.repo, { Match: 'untagged' }));
    expect(real.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0', KeptUnknownCount: '0' } });
    expect(brokenIndexes(s.repo)).toEqual([]);
    const gone = [...s.moved.images, s.stray].map((image) => image.digest).sort();
    const left = new Set(emulator.images(s.repo).map((image) => image.digest));
    expect(
      s.images
        .filter((image) => !left.has(image.digest))
        .map((image) => image.digest)
        .sort(),
    ).toEqual(gone);
    // The inner index of `multi` is untagged, and kept with its children: `multi` lists it.
    expect(left.has(s.inner.index.digest)).toBe(true);
    expect(idsOf(dry.response?.body.Data?.ImageIds)).toEqual(new Set(gone));
    expect(idsOf(real.response?.body.Data?.ImageIds)).toEqual(new Set(gone));
    // The children of v1, v2, multi and pr-7 are part of tagged images, which untaggedImages() does not select: nothing
    // of theirs was about to go, so nothing is counted as saved by an index.
    expect(real.response?.body.Data?.KeptReferencedCount).toBe('0');
  });

  test('tagsMatching("pr-*") deletes the PR index with its own untagged child (one image); the child it shares with v1 stays', async () => {
    const s = seeded();
    const tagged = await resource().create(props(s.repo, { Match: 'tagged', TagPatterns: ['pr-*'] }));
    expect(tagged.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '2', FailureCount: '0' } });
    expect(emulator.images(s.repo).some((image) => image.digest === s.own.digest)).toBe(false);
    const after = await resource().create(props(s.repo, { Match: 'untagged' }));
    expect(after.response?.body.Status).toBe('SUCCESS');
    const left = new Set(emulator.images(s.repo).map((image) => image.digest));
    expect(left.has(s.shared.digest)).toBe(true);
    expect(left.has(s.own.digest)).toBe(false);
    expect(brokenIndexes(s.repo)).toEqual([]);
  });

  test('tagsMatching("v0-*") keeps the per-architecture images of the kept manifest list, tags and all', async () => {
    const s = seeded();
    const result = await resource().create(props(s.repo, { Match: 'tagged', TagPatterns: ['v0-*'] }));
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0', KeptReferencedCount: '2', FailureCount: '0' } });
    expect(emulator.snapshot(s.repo).get(s.legacy.images[0].digest)).toEqual(['v0-amd64']);
  });

  test('allImages().keepNewest(2).protectTags("v0"): the two newest pushes stay whole, the rest goes', async () => {
    const s = seeded();
    const result = await resource().create(props(s.repo, { Match: 'all', KeepNewest: '2', ProtectTags: ['v0'] }));
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0' } });
    expect(brokenIndexes(s.repo)).toEqual([]);
    // Top-level images, newest first: v2, pr-7, then multi, stray, moved, v1; v0 is protected.
    const expected = [...s.v2.images, s.pr, s.own, s.shared, ...s.legacy.images].map((image) => image.digest).sort();
    expect(
      emulator
        .images(s.repo)
        .map((image) => image.digest)
        .sort(),
    ).toEqual(expected);
  });

  test.each([
    ['the registry down (503 on every read)', { serverError: 1 }, /could not be read \(HTTP 503/],
    ['a 429 storm', { tooManyRequests: 1 }, /not read within this run's read budget \(ECR Public's pull quota/],
  ])(
    '%s: no image is deleted, the event answers in time with the cause',
    async (_what, rates, cause) => {
      const s = seeded();
      emulator.faults.registry.configure(rates);
      const started = Date.now();
      const result = await resource({}, 30_000).create(props(s.repo, { Match: 'untagged' }));
      expect(Date.now() - started).toBeLessThan(30_000);
      const body = result.response?.body;
      expect(body?.Status).toBe('SUCCESS');
      expect(body?.Data).toMatchObject({ DeletedCount: '0' });
      expect(Number(body?.Data?.KeptUnknownCount)).toBeGreaterThan(0);
      expect(body?.Reason).toMatch(cause);
      expect(emulator.images(s.repo)).toHaveLength(s.images.length);
    },
    60_000,
  );

  test('a registry that answers 404: no image is deleted, the cause is in the log line', async () => {
    const s = seeded();
    const notFound = http.createServer((_request, response) => response.writeHead(404).end());
    await new Promise<void>((resolve) => notFound.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(notFound.address() as AddressInfo).port}`;
      const result = await resource({ ECR_PUBLIC_REGISTRY_ENDPOINT: endpoint }).create(props(s.repo, { Match: 'untagged' }));
      expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0' } });
      const logLine = JSON.parse(result.stdout.split('\n').find((line) => line.includes('EcrPublicImageDeletion event'))!);
      expect(logLine.selection.unknownCauses[0]).toContain('HTTP 404');
      expect(emulator.images(s.repo)).toHaveLength(s.images.length);
    } finally {
      notFound.close();
    }
  });
});
