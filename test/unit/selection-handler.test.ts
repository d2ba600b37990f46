/**
 * Selections through the whole handler, in process, against the local ECR
 * Public (the emulator): it pages its listing and refuses to delete what a
 * remaining image index references, as ECR Public does (moto does neither).
 */
import { mockStackState } from '../support/stack-state-mock';
import { handler } from '../../lambda/index';
import { MEDIA_TYPES, ReferencedImageDeletion, SeedImage, buildxIndex, nestedIndex, singleImage } from '../../local/ecr-public';
import { useEmulatorForHandler } from '../support/in-process-emulator';
import { CfnEvents } from '../support/cfn-events';
import { ResponseServer } from '../support/local-cloudformation';

const local = useEmulatorForHandler();
// The stack's state, which the handler reads for a Delete of allImages() and for a FAILED verdict.
mockStackState('DELETE_IN_PROGRESS');
let server: ResponseServer;
const DAY = 86_400_000;
const now = Date.now();

beforeAll(async () => {
  server = await ResponseServer.start();
});
afterAll(() => server.close());
beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

async function handle(requestType: 'Create' | 'Update' | 'Delete', properties: object) {
  const events = new CfnEvents(server, { stackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1', logicalResourceId: 'Hygiene' });
  const all = {
    RepositoryName: 'app',
    DeleteOn: ['Create', 'Update', 'Delete'],
    FailOnImageFailure: 'true',
    DryRun: 'false',
    ApiRegion: 'us-east-1',
    ...properties,
  };
  const event = requestType === 'Create' ? events.create(all) : requestType === 'Delete' ? events.delete('p', all) : events.update('p', all, all);
  await handler(event, { getRemainingTimeInMillis: () => 300_000 });
  return (await server.responseTo(event.RequestId)).body;
}

const deleteCalls = () => local.calls('BatchDeleteImage').map((input) => input.imageIds as Array<{ imageTag?: string; imageDigest?: string }>);
const describeCalls = () => local.calls('DescribeImages').length;
/** Seeds repository `app`. */
const seed = (...images: SeedImage[]) => local.emulator.seed('app', images);
const images = () => local.emulator.images('app');
/** One buildx push: its index (tagged), two platform images and their two attestations, children pushed a second earlier. */
const buildx = (name: string, tags: string[], pushedAt: number) => buildxIndex(name, { tags, pushedAt }).images;
const plain = (name: string, tags: string[], pushedAt: number) => singleImage(name, { tags, pushedAt });

describe('a selection', () => {
  test('follows nextToken through every page, 1,000 images a page', async () => {
    seed(...Array.from({ length: 2500 }, (_, i) => plain(`img${i.toString(16)}`, i % 2 === 0 ? [`t${i}`] : [], now - DAY)));
    // A selection that reads no manifest (no untagged image goes, no index stays): this is about the listing.
    const body = await handle('Create', { Select: { Match: 'tagged', TagPatterns: ['t*'] } });
    const pages = local.calls('DescribeImages');
    // The emulator's tokens are opaque: each page sends the token of the page before.
    expect(pages.map((p) => [p.maxResults, typeof p.nextToken])).toEqual([
      [1000, 'undefined'],
      [1000, 'string'],
      [1000, 'string'],
    ]);
    expect(new Set(pages.map((p) => p.nextToken)).size).toBe(3);
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1250', FailureCount: '0' } });
    expect(images().every((image) => image.tags.length === 0)).toBe(true);
    expect(images()).toHaveLength(1250);
  });

  test.each<ReferencedImageDeletion>(['refuse', 'allow'])(
    'untaggedImages never selects the untagged platform images of a tagged multi-architecture image: they are part of it (server: %s)',
    async (behaviour) => {
      local.emulator.referencedImageDeletion = behaviour;
      seed(...buildx('v1', ['v1'], now - 30 * DAY), ...buildx('v2', ['v2', 'latest'], now - DAY), plain('stray', [], now - 9 * DAY));
      const body = await handle('Update', { Select: { Match: 'untagged' } });
      expect(body.Status).toBe('SUCCESS');
      // Not covered, so not "kept": nothing was about to go that a kept index had to save.
      expect(body.Reason).not.toContain('kept as referenced');
      expect(body.Data).toMatchObject({ KeptReferencedCount: '0', KeptUnknownCount: '0', FailureCount: '0', RuleCounts: '{"1":1}' });
      // Only the stray untagged image went; both indexes and their 8 children remain.
      expect(images()).toHaveLength(10);
      expect(deleteCalls()).toEqual([[{ imageDigest: singleImage('stray').digest }]]);
      // Each kept index was read once (after the anonymous token challenge), and the stray image, for its subject (none: not a referrer).
      const reads = local.emulator.faults.registry.requests.filter((r) => r.operation.includes('/manifests/') && r.headers.authorization);
      expect(reads.map((r) => r.operation.split('/').pop()).sort()).toEqual(
        [buildxIndex('v1').index.digest, buildxIndex('v2').index.digest, singleImage('stray').digest].sort(),
      );
      expect(describeCalls()).toBe(1);
    },
  );

  test.each<ReferencedImageDeletion>(['refuse', 'allow'])(
    'with the registry down, nothing that a kept index might reference is deleted, and the event says why (server: %s)',
    async (behaviour) => {
      local.emulator.referencedImageDeletion = behaviour;
      seed(...buildx('v1', ['v1'], now - DAY), plain('stray', [], now - 9 * DAY));
      local.emulator.faults.registry.configure({ serverError: 1 });
      try {
        const body = await handle('Update', { Select: { Match: 'untagged' } });
        expect(body.Status).toBe('SUCCESS');
        // What v1's index references is unknown, so which untagged images are images of their own is too: the index
        // itself, its four platform images and attestations (untagged images of their own, if it listed none of them)
        // and the stray image are kept for that.
        expect(body.Data).toMatchObject({ KeptUnknownCount: '6', DeletedCount: '0' });
        expect(body.Reason).toContain('could not be read (HTTP 503');
        expect(deleteCalls()).toHaveLength(0);
        expect(images()).toHaveLength(6);
      } finally {
        local.emulator.faults.registry.configure({});
      }
    },
  );

  test('reads no manifest when the selection would delete no image', async () => {
    seed(...buildx('v1', ['v1'], now - DAY), plain('fresh', [], now));
    const body = await handle('Update', { Select: { Match: 'untagged', OlderThanSeconds: String(7 * 86_400) } });
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0', KeptReferencedCount: '0' } });
    expect(local.emulator.stats('manifests').calls).toBe(0);
  });

  test('an index of indexes empties too: a refused index is retried in a second round', async () => {
    // Both untagged, and the outer index older than the inner one it lists (pushed again later, say): nothing orders them.
    const inner = buildxIndex('inner', { pushedAt: now - DAY });
    const outer = nestedIndex('outer', [inner], { pushedAt: now - 2 * DAY });
    seed(...outer.images);
    const body = await handle('Delete', { Select: { Match: 'all' } });
    // Newest first, the inner index is tried before the outer one and refused; the second round deletes it.
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0' } });
    expect(images()).toHaveLength(0);
    expect(describeCalls()).toBe(2);
  });

  test('an index of indexes whose outer index is tagged empties in one round: the tagged index goes a pass before the untagged one', async () => {
    const inner = buildxIndex('inner', { pushedAt: now - DAY });
    seed(...nestedIndex('outer', [inner], { tags: ['multi'], pushedAt: now - 2 * DAY }).images);
    const body = await handle('Delete', { Select: { Match: 'all' } });
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0' } });
    expect(images()).toHaveLength(0);
    expect(describeCalls()).toBe(1);
  });

  test('allImages empties a repository of multi-architecture images in one event, indexes first', async () => {
    seed(...buildx('v1', ['v1'], now - 30 * DAY), ...buildx('v2', ['v2', 'latest'], now - DAY), plain('x', ['x'], now));
    const body = await handle('Delete', { Select: { Match: 'all' } });
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0' } });
    expect(images()).toHaveLength(0);
    const [firstPass] = deleteCalls();
    const indexes = [buildxIndex('v1').index, buildxIndex('v2').index];
    expect(indexes.every((i) => i.mediaType === MEDIA_TYPES.ociIndex)).toBe(true);
    expect(firstPass.map((id) => id.imageDigest).sort()).toEqual(indexes.map((i) => i.digest).sort());
    expect(describeCalls()).toBe(1);
  });

  test('emptying deletes the tagged indexes of each page while the next page is listed, everything else after the listing', async () => {
    // 300 buildx pushes (1,500 images, two pages): every other index tagged.
    const pushes = Array.from({ length: 300 }, (_, i) => buildx(`e${i}`, i % 2 === 0 ? [`r${i}`] : [], now - (400 - i) * 60_000));
    seed(...pushes.flat());
    // Pages take a while; when the first deletion arrives, is a page still being answered?
    local.emulator.faults.api.delayMs.DescribeImages = 200;
    let listingWhenFirstDeleted: number | undefined;
    local.emulator.beforeNext('BatchDeleteImage', () => (listingWhenFirstDeleted = local.emulator.stats('DescribeImages').inFlight));
    try {
      const body = await handle('Delete', { Select: { Match: 'all' } });
      expect(body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0', DeletedCount: '1500' } });
    } finally {
      delete local.emulator.faults.api.delayMs.DescribeImages;
    }
    expect(images()).toHaveLength(0);
    expect(listingWhenFirstDeleted).toBe(1);
    // What went before the listing ended: the tagged indexes of the first page, and nothing else.
    const tagged = new Set(
      pushes.filter((_, i) => i % 2 === 0).map((push) => push.find((image) => image.mediaType === MEDIA_TYPES.ociIndex)!.digest),
    );
    const [first] = deleteCalls();
    expect(first.every((id) => tagged.has(id.imageDigest!))).toBe(true);
  });

  test('protectTags keeps a release and everything its index references', async () => {
    seed(...buildx('v1', ['v1'], now - 30 * DAY), ...buildx('v2', ['v2', 'latest'], now - DAY));
    const body = await handle('Delete', { Select: { Match: 'all', ProtectTags: ['latest'] } });
    expect(body.Status).toBe('SUCCESS');
    // The platform images and attestations are part of the protected image: kept with it, not saved from a deletion.
    expect(body.Data).toMatchObject({ KeptReferencedCount: '0', FailureCount: '0', RuleCounts: '{"1":1}' });
    const kept = images();
    expect(kept).toHaveLength(5);
    expect(kept.find((i) => i.mediaType === MEDIA_TYPES.ociIndex)?.tags).toEqual(['v2', 'latest']);
  });

  test('tagsMatching removes an index with its last tag, and its untagged platform images and attestations with it: one image', async () => {
    seed(...buildx('a1', ['pr-1'], now - DAY), ...buildx('a2', ['main'], now));
    const tagged = await handle('Create', { Select: { Match: 'tagged', TagPatterns: ['pr-*'] } });
    expect(tagged).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '5', RuleCounts: '{"1":1}' } });
    // The index first (its tag with its digest), then what only it listed: no orphan is left for another selection.
    expect(deleteCalls()[0]).toEqual([{ imageTag: 'pr-1', imageDigest: buildxIndex('a1').index.digest }]);
    expect(images()).toHaveLength(5);
    const untagged = await handle('Update', { Select: { Match: 'untagged' } });
    expect(untagged).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0' } });
    // The children of the kept `main` index stayed.
    expect(images()).toHaveLength(5);
  });

  test('olderThan and keepNewest combine: all conditions hold', async () => {
    const ages = [10, 9, 8, 3, 2, 1];
    seed(...ages.map((age, i) => plain(`b${i}`, [`build-${i}`], now - age * DAY)), plain('fresh', ['build-new'], now));
    const body = await handle('Create', {
      Select: { Match: 'tagged', TagPatterns: ['build-*'], OlderThanSeconds: String(7 * 86_400), KeepNewest: '2' },
    });
    // Older than 7 days: build-0, -1, -2 (10, 9, 8 days old). Of those, the newest 2 are kept.
    expect(body.Status).toBe('SUCCESS');
    expect(JSON.parse(body.Data!.ImageIds).map((id: { imageTag: string }) => id.imageTag)).toEqual(['build-0']);
  });

  test('a dry run lists and reports, and deletes nothing', async () => {
    seed(plain('a', ['pr-1'], now - DAY), plain('b', ['main'], now));
    const body = await handle('Create', { Select: { Match: 'tagged', TagPatterns: ['pr-*'] }, ImageIds: [{ imageTag: 'main' }], DryRun: 'true' });
    expect(deleteCalls()).toHaveLength(0);
    expect(images()).toHaveLength(2);
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { DryRun: 'true', DeletedCount: '2' } });
    // A tag the selection removes goes with the digest listed (a tag moved since is not removed from the new image).
    expect(JSON.parse(body.Data!.ImageIds)).toEqual([
      { imageTag: 'main' },
      { imageTag: 'pr-1', imageDigest: plain('a', ['pr-1'], now - DAY).digest },
    ]);
    expect(body.Reason).toContain('dry run: would delete 2 image IDs');
  });

  test('declared image IDs go first, then the selection reads what is left', async () => {
    seed(plain('a', ['pr-1'], now), plain('b', ['pr-2'], now));
    const body = await handle('Create', { ImageIds: [{ imageTag: 'pr-1' }], Select: { Match: 'tagged', TagPatterns: ['pr-*'] } });
    expect(deleteCalls()).toEqual([[{ imageTag: 'pr-1' }], [{ imageTag: 'pr-2', imageDigest: plain('b', ['pr-2'], now).digest }]]);
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '2', FailureCount: '0' } });
  });

  test('a tag that moved during the event stays on the image just pushed, in the rounds that follow too', async () => {
    // An index refused in the first round (as if another index listed it) makes a second round list again.
    const index = buildxIndex('round', { tags: ['pr-x'], pushedAt: now - DAY });
    seed(...index.images, plain('old', ['pr-1'], now - DAY), plain('other', ['pr-2'], now - DAY));
    local.emulator.deletionFailures.set(index.index.digest, 'ImageReferencedByManifestList');
    const pushed = plain('pushed', [], now);
    local.emulator.beforeNext('BatchDeleteImage', () => seed({ ...pushed, tags: ['pr-1'] }));
    const body = await handle('Update', { Select: { Match: 'tagged', TagPatterns: ['pr-*'] } });
    expect(describeCalls()).toBe(2);
    expect(body).toMatchObject({ Status: 'SUCCESS', Data: { KeptMovedCount: '1' } });
    expect(images().find((image) => image.digest === pushed.digest)?.tags).toEqual(['pr-1']);
    local.emulator.deletionFailures.clear();
  });

  test.each([
    ['Delete', 'SUCCESS'],
    ['Create', 'FAILED'],
  ] as const)('a repository that is gone when listed: %s %s', async (type, status) => {
    // Repository `app` was never created in the emulator.
    const body = await handle(type, { Select: { Match: 'all' } });
    expect(body.Status).toBe(status);
    expect(body.Reason).toContain('does not exist');
  });
});
