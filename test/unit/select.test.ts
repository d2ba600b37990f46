import { ListedImage } from '../../lambda/list';
import { ManifestRead, SelectOptions, selectImages } from '../../lambda/select';
import { tagMatcher } from '../../lambda/rules';
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
/**
 * Selects as the handler does: reads what the decision needs from `registry`
 * (an image manifest that references nothing, for a digest it lacks), and
 * selects again until nothing more is needed.
 */
function decide(listing: ListedImage[], selection: WireSelection, registry: ReadonlyMap<string, ManifestRead> = new Map(), options?: SelectOptions) {
  const known = new Map<string, ManifestRead>();
  let result = selectImages(listing, selection, NOW, known, options);
  while (result.needs.length > 0) {
    for (const digest of result.needs) known.set(digest, registry.get(digest) ?? { references: [] });
    result = selectImages(listing, selection, NOW, known, options);
  }
  return result;
}
const select = (listing: ListedImage[], selection: WireSelection) => decide(listing, selection);
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
    expect(tagMatcher([{ glob: pattern, questionMark: true }])(tag)).toBe(expected);
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
    // pr-1 was its image's last tag: sent with its digest. pr-2's image keeps 'keep': sent by name alone (checked just before the call).
    expect(flat(listing, { Match: 'tagged', TagPatterns: ['pr-*'] })).toEqual([{ imageTag: 'pr-1', imageDigest: d(4) }, { imageTag: 'pr-2' }]);
  });

  test('protected tags win over every selection, for the whole image', () => {
    const result = select(listing, { Match: 'all', ProtectTags: ['latest', 'v*', 'keep'] });
    expect(result.passes.flat()).toEqual([{ imageDigest: d(4) }, { imageDigest: d(3) }]);
    expect(result.keptProtected).toBe(3);
    expect(flat(listing, { Match: 'tagged', TagPatterns: ['pr-*'], ProtectTags: ['keep'] })).toEqual([{ imageTag: 'pr-1', imageDigest: d(4) }]);
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
    expect(result.passes.flat()).toEqual([{ imageTag: 'pr-1', imageDigest: d(1) }]);
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
    expect(select(list, { Match: 'tagged', TagPatterns: ['v2*'] }).passes).toEqual([
      [{ imageTag: 'v2', imageDigest: d(4) }],
      [{ imageTag: 'v2-amd64', imageDigest: d(5) }],
    ]);
  });

  test('nothing matches: no pass at all', () => {
    expect(select(listing, { Match: 'tagged', TagPatterns: ['nope-*'] }).passes).toEqual([]);
  });
});

describe('images that kept indexes reference', () => {
  const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
  test('a kept image whose media type the listing did not give is read, and what it lists is kept', () => {
    const listing = [{ ...image(1, ['v1'], 1), mediaType: undefined }, image(2, [], 1), image(3, [], 1)];
    const first = selectImages(listing, { Match: 'untagged' }, NOW);
    expect(first.needs).toEqual([d(1)]);
    expect(first.passes).toEqual([]);
    const decided = decide(listing, { Match: 'untagged' }, new Map([[d(1), { references: [d(2)] }]]));
    expect(decided.passes.flat()).toEqual([{ imageDigest: d(3) }]);
    // 2 is part of the tagged image v1 (one image as users see it): not an untagged image, so not selected at all.
    expect(decided).toMatchObject({ keptReferenced: 0, keptUnknown: 0, needs: [] });
  });

  test('a nested index kept by a kept index is read too, and its children kept', () => {
    const listing = [image(1, ['multi'], 1, OCI_INDEX), image(2, [], 1, OCI_INDEX), image(3, [], 1), image(4, [], 1)];
    const references = new Map([[d(1), { references: [d(2)] }]]);
    expect(selectImages(listing, { Match: 'untagged' }, NOW, references).needs).toEqual([d(2)]);
    references.set(d(2), { references: [d(3)] });
    const decided = decide(listing, { Match: 'untagged' }, references);
    expect(decided.passes.flat()).toEqual([{ imageDigest: d(4) }]);
    expect(decided.referencedBy.get(d(3))).toBe(d(2));
  });

  test('an unreadable manifest keeps every image the selection would delete, and says which and why', () => {
    const listing = [image(1, ['v1'], 1, OCI_INDEX), image(2, [], 1), image(3, ['pr-1', 'main'], 1)];
    const result = selectImages(listing, { Match: 'all', ProtectTags: ['v1'] }, NOW, new Map([[d(1), { unknown: 'HTTP 503' }]]));
    expect(result.passes).toEqual([]);
    // 2 and 3 would go; the index is kept for its unknown references too, whatever its protected tag would have done.
    expect(result).toMatchObject({ keptUnknown: 3, unknown: [{ digest: d(1), cause: 'HTTP 503' }] });
    // No tag goes either, not even one whose image keeps other tags: whether 3 is a platform image of the protected
    // index v1 (then protected with it) is unknown.
    const tagged = selectImages(listing, { Match: 'tagged', TagPatterns: ['pr-*', 'x'] }, NOW, new Map([[d(1), { unknown: 'HTTP 503' }]]));
    expect(tagged.passes.flat()).toEqual([]);
    // 3's removal, and the unreadable index itself (what it would have made of the decision is unknown).
    expect(tagged.keptUnknown).toBe(2);
    const protectedIfListed = decide(
      listing,
      { Match: 'tagged', TagPatterns: ['pr-*'], ProtectTags: ['v1'] },
      new Map([[d(1), { references: [d(3)] }]]),
    );
    expect(protectedIfListed.passes).toEqual([]);
  });
});

test('an unreadable index counts as kept for unknown references, even where the rules without its references keep it anyway', () => {
  // The counterexample multiarch-selection.test.ts found (seed 1890397627): untagged images beyond the newest 3 go, then
  // anything older than a day. Read, the index would make one tagged image older than a day with its children; unread,
  // it stands alone among the newest 3 untagged images, and nothing would have said that anything was kept for it.
  const listing = [image(1, [], 1.01, 'application/vnd.oci.image.index.v1+json'), image(2, [], 1.02), image(3, [], 1.02), image(4, ['pr-0'], 0)];
  const policy = JSON.stringify({
    rules: [
      { rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 3 }, action: { type: 'expire' } },
      {
        rulePriority: 7,
        selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 },
        action: { type: 'expire' },
      },
    ],
  });
  const readable = decide(listing, { Match: 'lifecycle', LifecyclePolicyText: policy }, new Map([[d(1), { references: [d(2), d(3), d(4)] }]]));
  expect(readable.passes.flat()).toHaveLength(4);
  const unread = decide(listing, { Match: 'lifecycle', LifecyclePolicyText: policy }, new Map([[d(1), { unknown: 'HTTP 503' }]]));
  expect(unread.passes).toEqual([]);
  expect(unread.kept.get(d(1))).toBe('unknown');
  // The index, and the two untagged images the rules would keep among the newest 3 on a guess of what makes one image.
  expect(unread.keptUnknown).toBe(3);
});

describe('a tag that moves during the event', () => {
  test('a tag whose image goes carries the digest listed: if a push moves it to a new image first, ECR Public removes nothing from that image', () => {
    const listing = [image(1, ['pr-1'], 10), image(2, ['pr-2', 'pr-3'], 10)];
    expect(flat(listing, { Match: 'tagged', TagPatterns: ['pr-*'], OlderThanSeconds: '86400' })).toEqual([
      { imageTag: 'pr-1', imageDigest: d(1) },
      { imageTag: 'pr-2', imageDigest: d(2) },
      { imageTag: 'pr-3', imageDigest: d(2) },
    ]);
  });

  test('a tag whose image keeps other tags goes by name alone, never as a pair: what a pair does to such an image is not documented', () => {
    const listing = [image(2, ['pr-2', 'main'], 10)];
    expect(flat(listing, { Match: 'tagged', TagPatterns: ['pr-*'], OlderThanSeconds: '86400' })).toEqual([{ imageTag: 'pr-2' }]);
  });
});

describe('an image whose deletion failed stays, and keeps what it needs', () => {
  const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
  const listing = [image(1, ['old'], 9, OCI_INDEX), image(2, [], 10), image(3, [], 10), image(4, [], 10)];
  const registry = new Map([[d(1), { references: [d(2), d(3)] }]]);

  test('an index that failed in the first pass protects its children in the next one (its manifest read then)', () => {
    const first = decide(listing, { Match: 'all' }, registry);
    expect(first.passes).toEqual([[{ imageDigest: d(1) }], [{ imageDigest: d(2) }, { imageDigest: d(3) }, { imageDigest: d(4) }]]);
    const after = decide(listing, { Match: 'all' }, registry, { survivors: new Set([d(1)]) });
    expect(after.passes).toEqual([[{ imageDigest: d(4) }]]);
    expect(after).toMatchObject({
      keptReferenced: 2,
      referencedBy: new Map([
        [d(2), d(1)],
        [d(3), d(1)],
      ]),
    });
  });

  test('a survivor whose manifest cannot be read keeps everything', () => {
    const after = decide(listing, { Match: 'all' }, new Map([[d(1), { unknown: 'HTTP 503' }]]), { survivors: new Set([d(1)]) });
    expect(after.passes).toEqual([]);
    expect(after.keptUnknown).toBe(3);
  });

  test('an index known to list another index being deleted goes first: the inner one waits for the outer', () => {
    const nested = [image(1, [], 5, OCI_INDEX), image(2, [], 6, OCI_INDEX), image(3, [], 7), image(4, ['keep'], 1)];
    const known = new Map([
      [d(1), { references: [d(2)] }],
      [d(2), { references: [d(3)] }],
    ]);
    // keepNewest reads every index: the nesting is known.
    const result = decide(nested, { Match: 'untagged', KeepNewest: '0' }, known);
    expect(result.passes).toEqual([[{ imageDigest: d(1) }], [{ imageDigest: d(2) }], [{ imageDigest: d(3) }]]);
  });
});

describe('OCI 1.1 referrers: signatures, SBOMs and attestations that name a subject', () => {
  const registryOf = (subjects: Array<[number, number]>) =>
    new Map(subjects.map(([referrer, subject]) => [d(referrer), { references: [], subject: d(subject) }]));

  test('a referrer of a kept image is kept; the untagged image that refers to nothing goes', () => {
    const listing = [image(1, ['v1'], 10), image(2, [], 9), image(3, [], 9), image(4, [], 20)];
    const result = decide(
      listing,
      { Match: 'untagged' },
      registryOf([
        [2, 1],
        [3, 2],
      ]),
    );
    // 3 is a signature of the SBOM 2, which refers to the kept v1: both are part of the image v1, which is tagged.
    expect(result.passes.flat()).toEqual([{ imageDigest: d(4) }]);
    expect(result).toMatchObject({ keptReferrers: 0, keptUnknown: 0 });
    // Were v1 to go and its deletion to fail, its referrers would stay with it.
    const failed = decide(
      listing,
      { Match: 'all' },
      registryOf([
        [2, 1],
        [3, 2],
      ]),
      { survivors: new Set([d(1)]) },
    );
    expect(failed.passes.flat()).toEqual([{ imageDigest: d(4) }]);
    expect(failed).toMatchObject({
      keptReferrers: 2,
      referrerOf: new Map([
        [d(2), d(1)],
        [d(3), d(2)],
      ]),
    });
  });

  test('a referrer of an image deleted in the same event goes with it, when the selection may select untagged images', () => {
    const listing = [image(1, ['v1'], 10), image(2, [], 9), image(5, ['pr-5'], 10), image(6, [], 9)];
    const registry = registryOf([
      [2, 1],
      [6, 5],
    ]);
    const result = decide(listing, { Match: 'all', ProtectTags: ['v*'] }, registry);
    expect(new Set(result.passes.flat())).toEqual(new Set([{ imageDigest: d(5) }, { imageDigest: d(6) }]));
    // tagsMatching selects tagged images only: it does not read the untagged ones to find referrers (a read of every
    // untagged image), and leaves the referrer of pr-5 to an untagged selection, as an untagged image of its own.
    const reads: string[] = [];
    const spy = new Map([...registry].map(([digest, read]) => [digest, read]));
    const tagged = decide(
      listing,
      { Match: 'tagged', TagPatterns: ['pr-*'] },
      new Proxy(spy, {
        get: (target, key) => (key === 'get' ? (digest: string) => (reads.push(digest), target.get(digest)) : Reflect.get(target, key)),
      }),
    );
    expect(tagged.passes.flat()).toEqual([{ imageTag: 'pr-5', imageDigest: d(5) }]);
    expect(reads).toEqual([]);
    // Once its subject is gone, untaggedImages() deletes it: an untagged image of its own.
    expect(decide([listing[0], listing[1], listing[3]], { Match: 'untagged' }, registry).passes.flat()).toEqual([{ imageDigest: d(6) }]);
  });

  test('an untagged image that cannot be read is kept, alone; the rest of the decision stands', () => {
    const listing = [image(1, ['v1'], 10), image(2, [], 9), image(3, [], 9)];
    const result = decide(listing, { Match: 'untagged' }, new Map([[d(2), { unknown: 'HTTP 503' }]]));
    expect(result.passes.flat()).toEqual([{ imageDigest: d(3) }]);
    expect(result).toMatchObject({ keptUnknown: 1, unknown: [{ digest: d(2), cause: 'HTTP 503' }] });
  });

  test('what is read: the untagged images that would go; not a tagged one, not the child of a kept index, nothing when all goes', () => {
    const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
    const listing = [image(1, ['v1'], 10, OCI_INDEX), image(2, [], 11), image(3, [], 9), image(4, ['pr-4'], 9)];
    const reads: string[] = [];
    const registry = new Map([[d(1), { references: [d(2)] }]]);
    const spy = new Proxy(registry, {
      get: (target, key) => (key === 'get' ? (digest: string) => (reads.push(digest), target.get(digest)) : Reflect.get(target, key)),
    });
    decide(listing, { Match: 'all', ProtectTags: ['v*'] }, spy);
    expect(new Set(reads)).toEqual(new Set([d(1), d(3)]));
    expect(selectImages(listing, { Match: 'all' }, NOW).needs).toEqual([]);
  });

  test('keepNewest counts a signed image once: its signature is not a top-level image', () => {
    // v1, v2, v3 (each signed a second after its push, the signature newer than the image).
    const listing = [1, 2, 3].flatMap((n) => [image(n, [`v${n}`], 10 - n), { ...image(10 + n, [], 0), pushedAt: NOW - (10 - n) * DAY + 1000 }]);
    const registry = registryOf([
      [11, 1],
      [12, 2],
      [13, 3],
    ]);
    const result = decide(listing, { Match: 'all', KeepNewest: '2' }, registry);
    // The signature goes after its subject: should the subject's deletion fail, its signature is still there.
    expect(result.passes).toEqual([[{ imageDigest: d(1) }], [{ imageDigest: d(11) }]]);
    // The two newest signed images are kept whole: their signatures are part of them, not kept apart.
    expect(result).toMatchObject({ keptNewest: 2, keptReferrers: 0 });
    expect(result.partOf).toEqual(
      new Map([
        [d(12), d(2)],
        [d(13), d(3)],
      ]),
    );
  });

  test('keepNewest with an untagged image that cannot be read: which images are top-level is unknown, nothing goes', () => {
    const listing = [image(1, ['v1'], 10), image(2, [], 9), image(3, ['v3'], 1)];
    const result = decide(listing, { Match: 'all', KeepNewest: '1' }, new Map([[d(2), { unknown: 'HTTP 503' }]]));
    expect(result.passes).toEqual([]);
  });
});

describe('what the listing does not say is read', () => {
  test('an image listed without a media type is read whether it stays or goes; an index among them goes before its children', () => {
    const listing = [{ ...image(1, [], 5), mediaType: undefined }, image(2, [], 6), image(3, ['keep'], 1)];
    const result = decide(
      listing,
      { Match: 'untagged' },
      new Map([[d(1), { references: [d(2)], mediaType: 'application/vnd.oci.image.index.v1+json' }]]),
    );
    expect(result.passes).toEqual([[{ imageDigest: d(1) }], [{ imageDigest: d(2) }]]);
  });
});

describe('mutants that the tests of issue 17 kill', () => {
  const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
  test('a kept index that loses only some of its tags still protects its children', () => {
    // The manifest list keeps `stable`: its platform images stay, tags and all.
    const listing = [image(1, ['pr-1', 'stable'], 5, LIST), image(2, ['pr-1-amd64'], 5), image(3, ['pr-1-arm64'], 5)];
    const result = decide(listing, { Match: 'tagged', TagPatterns: ['pr-*'] }, new Map([[d(1), { references: [d(2), d(3)] }]]));
    expect(result.passes).toEqual([[{ imageTag: 'pr-1' }]]); // by name alone: the list keeps 'stable'
    expect(result.keptReferenced).toBe(2);
  });

  test('with an unreadable index and keepNewest, no tag goes either (not only no image)', () => {
    const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
    const listing = [image(1, ['pr-1', 'main'], 5), image(2, ['pr-2', 'main-2'], 4), image(3, ['x'], 1, OCI_INDEX)];
    const result = decide(listing, { Match: 'tagged', TagPatterns: ['pr-*'], KeepNewest: '1' }, new Map([[d(3), { unknown: 'HTTP 503' }]]));
    expect(result.passes).toEqual([]);
    expect(result.kept).toEqual(
      new Map([
        [d(1), 'unknown'],
        [d(2), 'unknown'],
        [d(3), 'unknown'],
      ]),
    );
  });
});
