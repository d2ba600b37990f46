/**
 * What a selection must never do, through the shipped handler bundle against
 * the local ECR Public, each with the field behaviour that used to make it
 * happen (issue 17):
 *
 * 1. a tag that a push moves during the event takes the new image with it;
 * 2. a dry run decides otherwise than the real run when declared image IDs and
 *    a selection meet;
 * 4. an index whose deletion fails loses its children in the next pass;
 * 6. a registry token that expires, or lacks the repository's scope, makes
 *    every later read unknown;
 * 7. signatures and SBOMs (OCI 1.1 referrers) of kept images are deleted;
 * and what the listing does not say (an index without its manifest media type),
 * a listing in another order, a reader that cannot be opened, an endless
 * answer, a 429 without Retry-After, a redirect to another origin, and the
 * deletions' half of the event's time.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EcrPublicEmulator,
  MEDIA_TYPES,
  ReferencedImageDeletion,
  SeedImage,
  buildxIndex,
  cosignSignature,
  digestOf,
  dockerManifestList,
  notationSignature,
  sbomReferrer,
  singleImage,
  startEcrPublicEmulator,
} from '../../local/ecr-public';
import { selectionProperties } from '../support/cfn-events';
import { InvocationResult, LocalCustomResource, ResponseServer } from '../support/local-cloudformation';

const DAY = 86_400_000;
const now = Date.now();
jest.setTimeout(60_000);

let emulator: EcrPublicEmulator;
let server: ResponseServer;
let count = 0;
beforeAll(async () => {
  emulator = await startEcrPublicEmulator();
  server = await ResponseServer.start();
});
afterAll(async () => {
  await emulator.close();
  await server.close();
});
afterEach(() => {
  emulator.restoreBehaviours();
  emulator.faults.registry.configure({});
  emulator.faults.registry.forced.length = 0;
  emulator.faults.api.forced.length = 0;
  emulator.faults.registry.retryAfterSeconds = 1;
});

function repository(images: readonly SeedImage[], behaviour: ReferencedImageDeletion = 'refuse'): string {
  const name = `safety/repo-${++count}`;
  emulator.referencedImageDeletion = behaviour;
  emulator.createRepository(name);
  emulator.seed(name, images);
  return name;
}
const resource = (env: Record<string, string> = {}, remainingMs?: number) =>
  new LocalCustomResource(server, {
    env: { AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint, ECR_PUBLIC_REGISTRY_ENDPOINT: emulator.registryEndpoint, ...env },
    remainingMs,
  });
const run = (name: string, select: object, extra: object = {}, env?: Record<string, string>, remainingMs?: number) =>
  resource(env, remainingMs).create(selectionProperties(name, select, extra));
const logLine = (result: InvocationResult) => JSON.parse(result.stdout.split('\n').find((line) => line.includes('EcrPublicImageDeletion event'))!);
/** Every manifest that a remaining index lists, and every referrer of a remaining image, is still there. */
function broken(name: string, before: readonly SeedImage[]): string[] {
  const left = emulator.images(name);
  const digests = new Set(left.map((image) => image.digest));
  const lost = left.flatMap((image) => image.references.filter((child) => !digests.has(child)).map((child) => `${image.digest} -> ${child}`));
  const referrers = before
    .filter((image) => !digests.has(image.digest) && image.tags.length === 0)
    .filter((image) => digests.has((JSON.parse(image.manifest) as { subject?: { digest: string } }).subject?.digest ?? ''))
    .map((image) => `referrer ${image.digest}`);
  return [...lost, ...referrers];
}
const tagsOf = (name: string) => emulator.snapshot(name);

describe('1. a tag that moves during the event', () => {
  test('a push moves pr-1 between the listing and the deletion: the new image keeps its tag; reported, not a failure', async () => {
    const old = singleImage('moved-old', { tags: ['pr-1'], pushedAt: now - 10 * DAY });
    const name = repository([old, singleImage('moved-other', { tags: ['pr-2'], pushedAt: now - 10 * DAY })]);
    const pushed = singleImage('moved-new');
    emulator.beforeNext('BatchDeleteImage', () => emulator.seed(name, [{ ...pushed, tags: ['pr-1'] }]));
    const result = await run(name, { Match: 'tagged', TagPatterns: ['pr-*'], OlderThanSeconds: String(86_400) });
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', FailureCount: '0', KeptMovedCount: '1' } });
    expect(tagsOf(name).get(pushed.digest)).toEqual(['pr-1']);
    // The old image lost its tag to the push; it stays, untagged, for an untagged selection.
    expect(tagsOf(name).get(old.digest)).toEqual([]);
    expect(result.response?.body.Reason).toMatch(/^kept 1 tags that moved to another image during the event/);
    expect(logLine(result)).toMatchObject({ moved: [`imageTag=pr-1,imageDigest=${old.digest}`], selection: { keptMoved: 1 } });
  });

  test('the tag of a manifest list moves: the new image keeps it, and the list, still there, keeps its platform images (server: allow)', async () => {
    const list = dockerManifestList('moved-list', { tags: ['pr-1'], pushedAt: now - 10 * DAY, platformTags: (p) => [`pr-1-${p.split('/')[1]}`] });
    const name = repository(list.images, 'allow');
    const pushed = singleImage('moved-list-new');
    emulator.beforeNext('BatchDeleteImage', () => emulator.seed(name, [{ ...pushed, tags: ['pr-1'] }]));
    const result = await run(name, { Match: 'tagged', TagPatterns: ['pr-*'], OlderThanSeconds: String(86_400) });
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0', KeptMovedCount: '1', KeptReferencedCount: '2' } });
    expect(tagsOf(name).get(pushed.digest)).toEqual(['pr-1']);
    expect(broken(name, list.images)).toEqual([]);
    expect(emulator.images(name)).toHaveLength(list.images.length + 1);
  });
  test('a tag removed from an image that keeps other tags goes by name alone, checked just before: a push that moved it keeps it', async () => {
    // What a tag+digest pair does to an image with other tags is not documented: were ECR Public to delete the
    // image, the pair would delete 'main' too. So pr-1 goes by name, after a DescribeImages that finds it moved.
    const old = singleImage('partial-old', { tags: ['pr-1', 'main'], pushedAt: now - 10 * DAY });
    const name = repository([old]);
    const pushed = singleImage('partial-new');
    // The second DescribeImages is the check (the first is the listing): the push lands between the two.
    emulator.beforeNext('DescribeImages', () => emulator.beforeNext('DescribeImages', () => emulator.seed(name, [{ ...pushed, tags: ['pr-1'] }])));
    const before = emulator.faults.api.requests.length;
    const result = await run(name, { Match: 'tagged', TagPatterns: ['pr-*'], OlderThanSeconds: String(86_400) });
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0', FailureCount: '0', KeptMovedCount: '1' } });
    expect(tagsOf(name).get(pushed.digest)).toEqual(['pr-1']);
    expect(tagsOf(name).get(old.digest)).toEqual(['main']);
    // Nothing was sent: the only removal was the moved tag.
    expect(emulator.faults.api.requests.slice(before).map((r) => r.operation.split('.').pop())).toEqual(['DescribeImages', 'DescribeImages']);
  });

  test('a tag removed by name alone that nobody moved goes, and its image keeps its other tags; no pair is ever sent for it', async () => {
    const kept = singleImage('partial-kept', { tags: ['pr-2', 'main'], pushedAt: now - 10 * DAY });
    const gone = singleImage('partial-gone', { tags: ['pr-3'], pushedAt: now - 10 * DAY });
    const name = repository([kept, gone]);
    const before = emulator.faults.api.requests.length;
    const result = await run(name, { Match: 'tagged', TagPatterns: ['pr-*'] });
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0', KeptMovedCount: '0' } });
    expect(tagsOf(name).get(kept.digest)).toEqual(['main']);
    expect(tagsOf(name).has(gone.digest)).toBe(false);
    const sent = emulator.faults.api.requests
      .slice(before)
      .filter((r) => r.operation.endsWith('BatchDeleteImage'))
      .flatMap((r) => (JSON.parse(r.body) as { imageIds: object[] }).imageIds);
    expect(sent).toEqual(expect.arrayContaining([{ imageTag: 'pr-2' }, { imageTag: 'pr-3', imageDigest: gone.digest }]));
    expect(sent).toHaveLength(2);
  });

  test('a tag deleted by someone else before the check is asked about alone; the others are checked and go', async () => {
    const a = singleImage('check-a', { tags: ['pr-4', 'main-a'], pushedAt: now - 10 * DAY });
    const b = singleImage('check-b', { tags: ['pr-5', 'main-b'], pushedAt: now - 10 * DAY });
    const name = repository([a, b]);
    emulator.beforeNext('DescribeImages', () =>
      emulator.beforeNext('DescribeImages', () => emulator.store.batchDeleteImage(name, [{ imageTag: 'pr-4' }])),
    );
    const result = await run(name, { Match: 'tagged', TagPatterns: ['pr-*'] });
    expect(result.response?.body.Status).toBe('SUCCESS');
    expect(tagsOf(name).get(a.digest)).toEqual(['main-a']);
    expect(tagsOf(name).get(b.digest)).toEqual(['main-b']);
  });
});

describe('2. a dry run decides as the real run does', () => {
  test('pr-1..pr-4, imageIds [pr-4], tagsMatching("pr-*").keepNewest(2): both delete pr-4 and pr-1', async () => {
    const images = [1, 2, 3, 4].map((n) => singleImage(`dry-${n}`, { tags: [`pr-${n}`], pushedAt: now - (10 - n) * DAY }));
    const props = { ImageIds: [{ imageTag: 'pr-4' }] };
    const select = { Match: 'tagged', TagPatterns: ['pr-*'], KeepNewest: '2' };
    const name = repository(images);
    const dry = await run(name, select, { ...props, DryRun: 'true' });
    expect(emulator.images(name)).toHaveLength(4);
    const real = await run(name, select, props);
    const tagsIn = (json: string | undefined) => (JSON.parse(json ?? '[]') as Array<{ imageTag?: string }>).map((id) => id.imageTag).sort();
    expect(tagsIn(dry.response?.body.Data?.ImageIds)).toEqual(['pr-1', 'pr-4']);
    expect(tagsIn(real.response?.body.Data?.ImageIds)).toEqual(['pr-1', 'pr-4']);
    expect([...tagsOf(name).values()].flat().sort()).toEqual(['pr-2', 'pr-3']);
  });
});

describe('4. what an index that stays references stays, whatever made it stay', () => {
  test.each(['allow', 'refuse'] as const)(
    'an index whose deletion fails (KmsError) keeps its platform images and attestations (server: %s)',
    async (behaviour) => {
      const v1 = buildxIndex('kms-v1', { tags: ['old'], pushedAt: now - 30 * DAY });
      const keep = singleImage('kms-keep', { tags: ['keep'], pushedAt: now - 30 * DAY });
      const name = repository([...v1.images, keep], behaviour);
      emulator.deletionFailures.set(v1.index.digest, 'KmsError');
      const result = await run(name, { Match: 'all', ProtectTags: ['keep'] }, { FailOnImageFailure: 'false' });
      expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '1', KeptReferencedCount: '4' } });
      expect(broken(name, v1.images)).toEqual([]);
      expect(emulator.images(name)).toHaveLength(v1.images.length + 1);
    },
  );

  test('an emptying whose index deletion fails keeps that index whole (server: allow)', async () => {
    const v1 = buildxIndex('kms-empty', { tags: ['v1'], pushedAt: now - 30 * DAY });
    const name = repository([...v1.images, singleImage('kms-empty-loose', { pushedAt: now - DAY })], 'allow');
    emulator.deletionFailures.set(v1.index.digest, 'KmsError');
    const result = await run(name, { Match: 'all' }, { FailOnImageFailure: 'false' });
    expect(result.response?.body.Status).toBe('SUCCESS');
    expect(broken(name, v1.images)).toEqual([]);
    expect(
      emulator
        .images(name)
        .map((image) => image.digest)
        .sort(),
    ).toEqual(v1.images.map((image) => image.digest).sort());
  });
});

describe('6. the registry token', () => {
  const kept = (n: number) =>
    Array.from({ length: n }, (_, i) => buildxIndex(`token-${i}`, { tags: [`v${i}`], pushedAt: now - 20 * DAY }).images).flat();
  const stray = singleImage('token-stray', { pushedAt: now - 10 * DAY });

  test('a token that expires during the event (401 invalid_token) is replaced: every index is read, the stray image goes', async () => {
    const name = repository([...kept(6), stray]);
    // 7 manifests to read (6 indexes, and the stray image for its subject), 4 at a time: the first token serves 4.
    emulator.registryBehaviour.tokenUses = 4;
    emulator.resetStats();
    const result = await run(name, { Match: 'untagged' });
    // The platform images and attestations are part of their tagged images: not selected, so not counted as saved.
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', KeptUnknownCount: '0', KeptReferencedCount: '0' } });
    expect(emulator.stats('token').calls).toBeGreaterThan(1);
    expect(tagsOf(name).has(stray.digest)).toBe(false);
  });

  test('a token without the repository in its scope (401 insufficient_scope): a new one is asked for the scope the challenge names', async () => {
    const name = repository([...kept(2), stray]);
    emulator.registryBehaviour.requireRepositoryScope = true;
    emulator.resetStats();
    const result = await run(name, { Match: 'untagged' });
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', KeptUnknownCount: '0' } });
    const scopes = emulator.faults.registry.requests.filter((r) => r.operation.startsWith('GET /token')).map((r) => r.operation);
    expect(scopes).toHaveLength(2);
  });

  test('a registry as the field has it: challenge unquoted and reordered, 429 without Retry-After, reads redirected to another origin, which never sees the token', async () => {
    const name = repository([...kept(3), stray]);
    Object.assign(emulator.registryBehaviour, { challengeStyle: 'unquoted', redirectManifests: true });
    emulator.faults.registry.retryAfterSeconds = null;
    emulator.faults.registry.forced.push('tooManyRequests', 'tooManyRequests');
    emulator.resetStats();
    const result = await run(name, { Match: 'untagged' });
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', KeptUnknownCount: '0', KeptReferencedCount: '0' } });
    const redirected = emulator.faults.registry.requests.filter((r) => r.operation.startsWith('GET /cdn/'));
    expect(redirected.length).toBeGreaterThanOrEqual(4);
    expect(redirected.every((r) => r.headers.authorization === undefined)).toBe(true);
    expect(emulator.faults.registry.requests.filter((r) => r.faults.includes('tooManyRequests'))).toHaveLength(2);
  });
});

describe('7. OCI 1.1 referrers', () => {
  const v1 = singleImage('ref-v1', { format: 'oci', tags: ['v1'], pushedAt: now - 30 * DAY });
  const pr5 = singleImage('ref-pr5', { format: 'oci', tags: ['pr-5'], pushedAt: now - 20 * DAY });
  const signature = cosignSignature(v1);
  const sbom = sbomReferrer(v1);
  const sbomSignature = notationSignature(sbom);
  const prSignature = cosignSignature(pr5);
  const stray = singleImage('ref-stray', { pushedAt: now - 10 * DAY });
  const all = [v1, signature, sbom, sbomSignature, pr5, prSignature, stray];

  test('untaggedImages keeps the signatures and SBOMs of kept images (and the signature of an SBOM); the stray image goes', async () => {
    const name = repository(all);
    const result = await run(name, { Match: 'untagged' });
    // The referrers are part of the images they refer to, which are tagged: not selected, so not counted as saved.
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', KeptReferrerCount: '0', KeptUnknownCount: '0' } });
    expect(
      emulator
        .images(name)
        .map((image) => image.digest)
        .sort(),
    ).toEqual(
      all
        .filter((image) => image !== stray)
        .map((image) => image.digest)
        .sort(),
    );
    expect(result.response?.body.Reason).not.toContain('kept as referrers');
  });

  test('the referrers of an image deleted in the same event go with it; those of a kept image stay', async () => {
    const name = repository(all);
    emulator.listing.order = 'digest';
    const result = await run(name, { Match: 'all', ProtectTags: ['v*'] });
    // The kept images' referrers stay as part of them (the log line says so: keptImages with partOf).
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0', KeptReferrerCount: '0' } });
    expect(
      emulator
        .images(name)
        .map((image) => image.digest)
        .sort(),
    ).toEqual([v1, signature, sbom, sbomSignature].map((image) => image.digest).sort());
  });

  test('with the registry down, no untagged image goes: any of them may sign a kept image', async () => {
    const name = repository(all);
    emulator.faults.registry.configure({ serverError: 1 });
    const result = await run(name, { Match: 'untagged' }, {}, {}, 30_000);
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0', KeptUnknownCount: '5' } });
    expect(emulator.images(name)).toHaveLength(all.length);
  });

  test('keepNewest counts a signed release once: allImages().keepNewest(2) keeps v2 and v3 with their signatures, in any listing order', async () => {
    const releases = [1, 2, 3].map((n) => singleImage(`kn-v${n}`, { format: 'oci', tags: [`v${n}`], pushedAt: now - (10 - n) * DAY }));
    const signatures = releases.map((release) => cosignSignature(release));
    for (const order of ['push', 'digest'] as const) {
      const name = repository([...releases, ...signatures]);
      emulator.listing.order = order;
      const result = await run(name, { Match: 'all', KeepNewest: '2' });
      expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '2', KeptReferrerCount: '0', RuleCounts: '{"1":1}' } });
      expect(
        emulator
          .images(name)
          .map((image) => image.digest)
          .sort(),
      ).toEqual([releases[1], releases[2], signatures[1], signatures[2]].map((i) => i.digest).sort());
    }
  });
});

describe('what the listing does not say is read', () => {
  test('an index listed without its manifest media type (it has an artifactType) is read, and its platform images stay', async () => {
    const group = buildxIndex('untyped', { pushedAt: now - 20 * DAY });
    const manifest = JSON.stringify({ ...JSON.parse(group.index.manifest), artifactType: 'application/vnd.example.bundle' });
    const index: SeedImage = { ...group.index, manifest, digest: digestOf(manifest), tags: ['v1'] };
    const name = repository([...group.images.slice(0, -1), index, singleImage('untyped-stray', { pushedAt: now - DAY })]);
    emulator.listing.omitManifestMediaType = true;
    const result = await run(name, { Match: 'untagged' });
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', KeptReferencedCount: '0', KeptUnknownCount: '0' } });
    expect(emulator.images(name).find((image) => image.digest === index.digest)?.mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(emulator.images(name)).toHaveLength(group.images.length);
  });
});

describe('NotFoundCount counts declared image IDs only', () => {
  test('an image the selection chose that another client deleted first is a failure, not a declared image not found', async () => {
    const loose = singleImage('nf-loose', { pushedAt: now - DAY });
    const name = repository([singleImage('nf-kept', { tags: ['v1'] }), loose]);
    // The declared IDs go first; before the selection's deletion, another client deletes the loose image.
    emulator.beforeNext('BatchDeleteImage', () =>
      emulator.beforeNext('BatchDeleteImage', () => emulator.store.batchDeleteImage(name, [{ imageDigest: loose.digest }])),
    );
    const result = await run(name, { Match: 'untagged' }, { ImageIds: [{ imageTag: 'typo' }] });
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { NotFoundCount: '1', FailureCount: '2' } });
    expect(logLine(result).notFound).toEqual(['imageTag=typo']);
  });
});

describe('a reader that cannot be opened makes every manifest unknown, never "references nothing"', () => {
  const group = buildxIndex('closed', { tags: ['v1'], pushedAt: now - 20 * DAY });
  const images = [...group.images, singleImage('closed-stray', { pushedAt: now - DAY })];

  test('DescribeRepositories refused (AccessDenied)', async () => {
    const name = repository(images);
    // The first JSON API call is DescribeImages; the second, DescribeRepositories, is refused.
    emulator.faults.api.forced.push('pass', 'accessDenied');
    const result = await run(name, { Match: 'untagged' });
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0' } });
    expect(Number(result.response?.body.Data?.KeptUnknownCount)).toBeGreaterThan(0);
    expect(logLine(result).selection.unknownCauses[0]).toContain('registry not reachable: AccessDeniedException');
    expect(emulator.images(name)).toHaveLength(images.length);
  });

  test('a registry endpoint that is not a URL', async () => {
    const name = repository(images);
    const result = await run(name, { Match: 'untagged' }, {}, { ECR_PUBLIC_REGISTRY_ENDPOINT: 'not a url' });
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0' } });
    expect(logLine(result).selection.unknownCauses[0]).toContain('registry not reachable');
    expect(emulator.images(name)).toHaveLength(images.length);
  });

  test('a challenge whose realm is not a URL', async () => {
    const name = repository(images);
    const badRealm = http.createServer((_request, response) =>
      response.writeHead(401, { 'www-authenticate': 'Bearer realm="::not-a-url",service="x"' }).end(),
    );
    await new Promise<void>((resolve) => badRealm.listen(0, '127.0.0.1', resolve));
    try {
      const result = await run(
        name,
        { Match: 'untagged' },
        {},
        { ECR_PUBLIC_REGISTRY_ENDPOINT: `http://127.0.0.1:${(badRealm.address() as AddressInfo).port}` },
      );
      expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0' } });
      expect(logLine(result).selection.unknownCauses[0]).toContain('realm is not a URL');
      expect(emulator.images(name)).toHaveLength(images.length);
    } finally {
      badRealm.close();
    }
  });
});

describe('the time of an event', () => {
  test('a registry that never answers: reads stop at half the time, and the deletions happen in the other half', async () => {
    const old = singleImage('hang-old', { tags: ['pr-2'], pushedAt: now - 20 * DAY });
    const loose = singleImage('hang-loose', { pushedAt: now - 2 * DAY });
    const name = repository([old, loose, singleImage('hang-pr', { tags: ['pr-1', 'main'], pushedAt: now - DAY })]);
    emulator.faults.registry.configure({ hang: 1 });
    const started = Date.now();
    // Every image but those tagged main may go: the untagged image, which may be a signature (then it would be part of
    // the image it signs), is read, and the answer never comes. It is kept; what does not depend on it (pr-2's image)
    // goes, in the other half of the time. (tagsMatching reads nothing here: it selects tagged images only.)
    const result = await run(name, { Match: 'all', ProtectTags: ['main'] }, {}, {}, 8_000);
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', KeptUnknownCount: '1' } });
    expect(result.stdout).toContain('the deadline for registry reads came before');
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(tagsOf(name).get(singleImage('hang-pr').digest)).toEqual(['main', 'pr-1']);
    expect([...tagsOf(name).keys()].sort()).toEqual([loose.digest, singleImage('hang-pr').digest].sort());
  });

  test('an endless answer is cut off at 4 MiB: the event answers at once, keeping what it could not read', async () => {
    const endless = http.createServer((request, response) => {
      if (request.url!.startsWith('/token')) return void response.writeHead(200).end('{"token":"t"}');
      if (!request.headers.authorization)
        return void response
          .writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${(endless.address() as AddressInfo).port}/token"` })
          .end();
      response.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, ' ');
      const write = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', write);
      };
      write();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    try {
      const name = repository([...buildxIndex('endless', { tags: ['v1'], pushedAt: now - 20 * DAY }).images, singleImage('endless-stray')]);
      const started = Date.now();
      const result = await run(
        name,
        { Match: 'untagged' },
        {},
        { ECR_PUBLIC_REGISTRY_ENDPOINT: `http://127.0.0.1:${(endless.address() as AddressInfo).port}` },
        60_000,
      );
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0' } });
      expect(logLine(result).selection.unknownCauses[0]).toContain('bytes a manifest read accepts');
    } finally {
      endless.closeAllConnections();
      endless.close();
    }
  });
});
