import { ListedImage } from '../../lambda/list';
import { globMatcher, selectImages } from '../../lambda/select';
import type { WireSelection } from '../../lib/contract';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const DAY = 86_400_000;
const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const image = (n: number, tags: string[], ageDays: number, mediaType = 'application/vnd.oci.image.manifest.v1+json'): ListedImage => ({
  digest: d(n),
  tags,
  pushedAt: NOW - ageDays * DAY,
  mediaType,
});
const select = (listing: ListedImage[], selection: WireSelection) => selectImages(listing, selection, NOW);
const flat = (listing: ListedImage[], selection: WireSelection) => select(listing, selection).passes.flat();

describe('glob patterns', () => {
  test.each([
    ['pr-*', 'pr-42', true],
    ['pr-*', 'pr-', true],
    ['pr-*', 'xpr-42', false],
    ['v?.0', 'v1.0', true],
    ['v?.0', 'v10.0', false],
    ['release.1', 'releasex1', false],
    ['*-debug', 'pr-42-debug', true],
    ['latest', 'latest-2', false],
    ['a+b', 'a+b', true],
  ])('%s matches %s: %s', (pattern, tag, expected) => {
    expect(globMatcher([pattern])(tag)).toBe(expected);
  });
});

describe('selecting images from a listing', () => {
  const listing = [image(1, ['latest', 'v2.0'], 1), image(2, ['v1.0'], 40), image(3, [], 40), image(4, ['pr-1'], 10), image(5, ['pr-2', 'keep'], 10)];

  test('allImages deletes every image by digest', () => {
    // Newest first (ties by digest): the order keepNewest reads them in.
    expect(flat(listing, { Match: 'all' })).toEqual([1, 4, 5, 2, 3].map((n) => ({ imageDigest: d(n) })));
  });

  test('untaggedImages deletes only images without tags', () => {
    expect(flat(listing, { Match: 'untagged' })).toEqual([{ imageDigest: d(3) }]);
  });

  test('tagsMatching removes the matching tags only, so an image keeps its other tags', () => {
    expect(flat(listing, { Match: 'tagged', TagPatterns: ['pr-*'] })).toEqual([{ imageTag: 'pr-1' }, { imageTag: 'pr-2' }]);
  });

  test('protected tags win over every selection, for the whole image', () => {
    const result = select(listing, { Match: 'all', ProtectTags: ['latest', 'v*', 'keep'] });
    expect(result.passes.flat()).toEqual([{ imageDigest: d(4) }, { imageDigest: d(3) }]);
    expect(result.keptProtected).toBe(3);
    expect(flat(listing, { Match: 'tagged', TagPatterns: ['pr-*'], ProtectTags: ['keep'] })).toEqual([{ imageTag: 'pr-1' }]);
  });

  test('olderThan: an image pushed exactly at the boundary stays, one a millisecond earlier goes', () => {
    const edge = [
      { ...image(1, ['a'], 0), pushedAt: NOW - 7 * DAY },
      { ...image(2, ['b'], 0), pushedAt: NOW - 7 * DAY - 1 },
    ];
    expect(flat(edge, { Match: 'all', OlderThanSeconds: String(7 * 86_400) })).toEqual([{ imageDigest: d(2) }]);
  });

  test('keepNewest keeps the newest N of what matches, not of the whole repository', () => {
    const builds = [image(1, ['pr-1'], 5), image(2, ['pr-2'], 4), image(3, ['pr-3'], 3), image(4, ['main'], 0)];
    const result = select(builds, { Match: 'tagged', TagPatterns: ['pr-*'], KeepNewest: '2' });
    expect(result.passes.flat()).toEqual([{ imageTag: 'pr-1' }]);
    expect(result).toMatchObject({ matched: 3, keptNewest: 2 });
  });

  test('keepNewest breaks ties on equal push times by digest, the same way every time', () => {
    const tied = [image(9, ['t9'], 1), image(3, ['t3'], 1), image(7, ['t7'], 1)];
    const kept = (order: ListedImage[]) => flat(order, { Match: 'all', KeepNewest: '2' });
    expect(kept(tied)).toEqual([{ imageDigest: d(9) }]);
    expect(kept([...tied].reverse())).toEqual([{ imageDigest: d(9) }]);
  });

  test('keepNewest larger than the matches keeps them all', () => {
    expect(select(listing, { Match: 'untagged', KeepNewest: '5' })).toMatchObject({ passes: [], keptNewest: 1 });
  });

  test('image indexes go in the first pass, other images in the second', () => {
    const multiArch = [image(1, [], 3), image(2, ['v1'], 3, 'application/vnd.oci.image.index.v1+json'), image(3, [], 3)];
    expect(select(multiArch, { Match: 'all' }).passes).toEqual([[{ imageDigest: d(2) }], [{ imageDigest: d(1) }, { imageDigest: d(3) }]]);
    const list = [image(4, ['v2'], 3, 'application/vnd.docker.distribution.manifest.list.v2+json'), image(5, ['v2-amd64'], 3)];
    expect(select(list, { Match: 'tagged', TagPatterns: ['v2*'] }).passes).toEqual([[{ imageTag: 'v2' }], [{ imageTag: 'v2-amd64' }]]);
  });

  test('nothing matches: no pass at all', () => {
    expect(select(listing, { Match: 'tagged', TagPatterns: ['nope-*'] }).passes).toEqual([]);
  });
});

describe('images that kept indexes reference', () => {
  const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
  test('a kept image whose media type the listing did not give is read, and what it lists is kept', () => {
    const listing = [{ ...image(1, ['v1'], 1), mediaType: undefined }, image(2, [], 1), image(3, [], 1)];
    const first = select(listing, { Match: 'untagged' });
    expect(first.needs).toEqual([d(1)]);
    expect(first.passes).toEqual([]);
    const decided = selectImages(listing, { Match: 'untagged' }, NOW, new Map([[d(1), { references: [d(2)] }]]));
    expect(decided.passes.flat()).toEqual([{ imageDigest: d(3) }]);
    expect(decided).toMatchObject({ keptReferenced: 1, keptUnknown: 0, needs: [] });
  });

  test('a nested index kept by a kept index is read too, and its children kept', () => {
    const listing = [image(1, ['multi'], 1, OCI_INDEX), image(2, [], 1, OCI_INDEX), image(3, [], 1), image(4, [], 1)];
    const references = new Map([[d(1), { references: [d(2)] }]]);
    expect(selectImages(listing, { Match: 'untagged' }, NOW, references).needs).toEqual([d(2)]);
    references.set(d(2), { references: [d(3)] });
    const decided = selectImages(listing, { Match: 'untagged' }, NOW, references);
    expect(decided.passes.flat()).toEqual([{ imageDigest: d(4) }]);
    expect(decided.referencedBy.get(d(3))).toBe(d(2));
  });

  test('an unreadable manifest keeps every image the selection would delete, and says which and why', () => {
    const listing = [image(1, ['v1'], 1, OCI_INDEX), image(2, [], 1), image(3, ['pr-1', 'main'], 1)];
    const result = selectImages(listing, { Match: 'all', ProtectTags: ['v1'] }, NOW, new Map([[d(1), { unknown: 'HTTP 503' }]]));
    expect(result.passes).toEqual([]);
    expect(result).toMatchObject({ keptUnknown: 2, unknown: [{ digest: d(1), cause: 'HTTP 503' }] });
    // A tag removal that leaves its image in place still happens.
    const tagged = selectImages(listing, { Match: 'tagged', TagPatterns: ['pr-*', 'x'] }, NOW, new Map([[d(1), { unknown: 'HTTP 503' }]]));
    expect(tagged.passes.flat()).toEqual([{ imageTag: 'pr-1' }]);
  });
});
