/**
 * The decision with some manifests unread (lambda/partial-selection.ts): on
 * random repositories pushed the way ECR Public allows (an index after the
 * images it lists, its clock off by up to the margin; signatures after their
 * subject), with random reads left undone, it never deletes an image that the
 * decision with every manifest read keeps, nor anything whose deletion breaks
 * a reference of what stays; it proves the images pushed after every unread
 * index that stays; and it decides nothing across the repository for a
 * selection that ranks it (keepNewest).
 */
import * as fc from 'fast-check';
import type { WireImageId, WireSelection } from '../../lib/contract';
import type { ListedImage } from '../../lambda/list';
import { PUSH_ORDER_MARGIN_MS, provenSlice, selectWithWhatIsKnown } from '../../lambda/partial-selection';
import { readOrder } from '../../lambda/read-order';
import { ManifestRead, SelectOptions, selectImages } from '../../lambda/select';

const NOW = Date.UTC(2026, 10, 26, 12);
const MINUTE = 60_000;
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

interface Repository {
  readonly listing: ListedImage[];
  /** What every manifest says. */
  readonly truth: Map<string, { references: string[]; mediaType: string; subject?: string }>;
}

type Push =
  | { readonly kind: 'plain'; readonly tagged: boolean }
  | { readonly kind: 'buildx'; readonly tagged: boolean; readonly skew: number; readonly share: number }
  | { readonly kind: 'nested'; readonly tagged: boolean }
  | { readonly kind: 'signature'; readonly of: number };

const pushArb: fc.Arbitrary<Push> = fc.oneof(
  fc.record({ kind: fc.constant('plain' as const), tagged: fc.boolean() }),
  fc.record({
    kind: fc.constant('buildx' as const),
    tagged: fc.boolean(),
    // ECR Public's clocks may disagree: a child recorded up to the margin after the index that lists it.
    skew: fc.integer({ min: -5_000, max: PUSH_ORDER_MARGIN_MS - 1 }),
    share: fc.nat(),
  }),
  fc.record({ kind: fc.constant('nested' as const), tagged: fc.boolean() }),
  fc.record({ kind: fc.constant('signature' as const), of: fc.nat() }),
);

/** A repository pushed as ECR Public allows: each push up to two and a half minutes after the last (seconds apart, `gaps`). */
function repositoryOf(pushes: readonly Push[], gaps: readonly number[]): Repository {
  const listing: ListedImage[] = [];
  const truth: Repository['truth'] = new Map();
  let n = 0;
  let t = NOW - 30 * 24 * 60 * MINUTE;
  const add = (tags: string[], pushedAt: number, mediaType: string, references: string[] = [], subject?: string) => {
    const digest = d(++n);
    listing.push({ digest, tags, pushedAt, mediaType });
    truth.set(digest, { references, mediaType, ...(subject !== undefined ? { subject } : {}) });
    return digest;
  };
  const plainImages: string[] = [];
  pushes.forEach((push, i) => {
    t += (gaps[i % gaps.length] ?? 60) * 1000;
    const tags = (tagged: boolean) => (tagged ? [`v${i}`] : []);
    switch (push.kind) {
      case 'plain':
        plainImages.push(add(tags(push.tagged), t, OCI_MANIFEST));
        break;
      case 'buildx': {
        // Shared: an image pushed earlier, which this index lists too (it exists when the index is pushed).
        const shared = plainImages.length > 0 && push.share % 3 === 0 ? [plainImages[push.share % plainImages.length]] : [];
        const children = [add([], t + push.skew, OCI_MANIFEST), add([], t + push.skew, OCI_MANIFEST)];
        add(tags(push.tagged), t, OCI_INDEX, [...children, ...shared]);
        break;
      }
      case 'nested': {
        const leaf = add([], t - 2000, OCI_MANIFEST);
        const inner = add([], t - 1000, OCI_INDEX, [leaf]);
        add(tags(push.tagged), t, OCI_INDEX, [inner]);
        break;
      }
      case 'signature':
        if (listing.length > 0) add([], t, OCI_MANIFEST, [], listing[push.of % listing.length].digest);
        break;
    }
  });
  return { listing, truth };
}

const selectionArb: fc.Arbitrary<WireSelection> = fc.oneof(
  fc.constant<WireSelection>({ Match: 'untagged' }),
  fc.constant<WireSelection>({ Match: 'all', ProtectTags: ['v1*'] }),
  fc.constant<WireSelection>({ Match: 'all', OlderThanSeconds: String((10 * 24 * 60 * MINUTE) / 1000) }),
  fc.constant<WireSelection>({ Match: 'tagged', TagPatterns: ['v*'] }),
  fc.constant<WireSelection>({ Match: 'untagged', OlderThanSeconds: String((5 * 24 * 60 * MINUTE) / 1000) }),
);

/** What an event knows before it reads: manifests in the cache (read by earlier events), and those the registry will not give. */
interface Knowledge {
  readonly cached?: ReadonlySet<string>;
  readonly unreadable?: ReadonlySet<string>;
}

/**
 * Decides as executePlan does: what the cache holds first, then reads what
 * the decision needs, newest first, but only `budget` registry reads; the
 * others are "not read in this event".
 */
function decide(repository: Repository, selection: WireSelection, budget: number, options: SelectOptions = {}, knowledge: Knowledge = {}) {
  const known = new Map<string, ManifestRead>();
  let reads = 0;
  let result = selectWithWhatIsKnown(repository.listing, selection, NOW, known, options);
  while (result.needs.length > 0) {
    for (const digest of readOrder(repository.listing, result.needs)) {
      const manifest = repository.truth.get(digest);
      if (knowledge.cached?.has(digest) && manifest) known.set(digest, manifest);
      else if (knowledge.unreadable?.has(digest)) known.set(digest, { unknown: 'HTTP 503' });
      else known.set(digest, reads++ < budget && manifest ? manifest : { unknown: 'not read in this event: the deadline came first' });
    }
    result = selectWithWhatIsKnown(repository.listing, selection, NOW, known, options);
  }
  return { result, known };
}

/** The decision with every manifest it needs read: select.ts alone. */
function decideKnowingAll(repository: Repository, selection: WireSelection, options: SelectOptions = {}) {
  const known = new Map<string, ManifestRead>();
  let result = selectImages(repository.listing, selection, NOW, known, options);
  while (result.needs.length > 0) {
    for (const digest of result.needs) known.set(digest, repository.truth.get(digest) ?? { unknown: 'HTTP 404' });
    result = selectImages(repository.listing, selection, NOW, known, options);
  }
  return result;
}

/** Images a decision deletes (an ID with a digest: the image goes). */
const deletedBy = (passes: readonly WireImageId[][]) =>
  new Set(passes.flat().flatMap((id) => (id.imageDigest !== undefined ? [id.imageDigest] : [])));

/** References of what stays that a deletion breaks: a listed child of a remaining index, an untagged referrer of a remaining image. */
function broken(repository: Repository, deleted: ReadonlySet<string>): string[] {
  const listed = new Set(repository.listing.map((image) => image.digest));
  const problems: string[] = [];
  for (const image of repository.listing) {
    const { references, subject } = repository.truth.get(image.digest)!;
    if (!deleted.has(image.digest)) {
      for (const child of references) if (listed.has(child) && deleted.has(child)) problems.push(`${image.digest} -> ${child}`);
    } else if (subject !== undefined && image.tags.length === 0 && listed.has(subject) && !deleted.has(subject)) {
      problems.push(`${image.digest} (referrer) -> ${subject}`);
    }
  }
  return problems;
}

const repositoryArb = fc
  .tuple(fc.array(pushArb, { minLength: 1, maxLength: 14 }), fc.array(fc.integer({ min: 0, max: 150 }), { minLength: 1, maxLength: 5 }))
  .map(([pushes, gaps]) => repositoryOf(pushes, gaps));

describe('a decision with manifests left unread', () => {
  test('deletes nothing that the decision with every manifest read keeps, and breaks no reference of what stays', () => {
    fc.assert(
      fc.property(
        repositoryArb,
        selectionArb,
        fc.nat({ max: 30 }),
        fc.array(fc.nat(), { maxLength: 2 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        (repository, selection, budget, picks, cachedPicks, unreadablePicks) => {
          fc.pre(repository.listing.length > 0);
          const pick = (n: number) => repository.listing[n % repository.listing.length].digest;
          // Images whose deletion failed earlier in the event stay whatever the reads say.
          const survivors = new Set(picks.map(pick));
          // A cache partly filled by earlier events; manifests the registry will not give.
          const knowledge = { cached: new Set(cachedPicks.map(pick)), unreadable: new Set(unreadablePicks.map(pick)) };
          const { result } = decide(repository, selection, budget, { survivors }, knowledge);
          const deleted = deletedBy(result.passes);
          const allRead = deletedBy(decideKnowingAll(repository, selection, { survivors }).passes);
          expect([...deleted].filter((digest) => !allRead.has(digest))).toEqual([]);
          expect(broken(repository, deleted)).toEqual([]);
          expect([...survivors].filter((digest) => deleted.has(digest))).toEqual([]);
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('with every manifest read, it is select.ts', () => {
    fc.assert(
      fc.property(repositoryArb, selectionArb, (repository, selection) => {
        const { result } = decide(repository, selection, Number.POSITIVE_INFINITY);
        expect(result.passes).toEqual(decideKnowingAll(repository, selection).passes);
        expect(result.slice).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  test('decides every image pushed after the oldest index it read, newest first, as if it had read them all', () => {
    fc.assert(
      fc.property(repositoryArb, fc.nat({ max: 30 }), (repository, budget) => {
        const selection: WireSelection = { Match: 'untagged' };
        const { result, known } = decide(repository, selection, budget);
        if (result.slice === undefined) return;
        const allRead = deletedBy(decideKnowingAll(repository, selection).passes);
        // Untagged images pushed after the slice's start go as they would with every manifest read, unless they are
        // referrers of an image before it or listed by one (kept: not decided in this event).
        const before = new Set(repository.listing.filter((image) => image.pushedAt <= result.slice!.after).map((image) => image.digest));
        const neededBefore = new Set(
          repository.listing
            .filter((image) => before.has(image.digest))
            .flatMap((image) => {
              const read = known.get(image.digest);
              return read && !('unknown' in read) ? read.references : [];
            }),
        );
        const deleted = deletedBy(result.passes);
        for (const image of repository.listing) {
          const { subject } = repository.truth.get(image.digest)!;
          const reachesBack = neededBefore.has(image.digest) || (subject !== undefined && before.has(subject));
          if (
            !before.has(image.digest) &&
            allRead.has(image.digest) &&
            !reachesBack &&
            'references' in (known.get(image.digest) ?? { references: [] })
          ) {
            expect(deleted.has(image.digest)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('where the slice starts', () => {
  const index = (n: number, pushedAt: number, tags: string[] = ['v']): ListedImage => ({ digest: d(n), tags, pushedAt, mediaType: OCI_INDEX });
  const plain = (n: number, pushedAt: number): ListedImage => ({ digest: d(n), tags: [], pushedAt, mediaType: OCI_MANIFEST });

  test('after the newest unread index that stays, and the margin', () => {
    const listing = [plain(1, NOW - 60 * MINUTE), index(2, NOW - 50 * MINUTE), plain(3, NOW - 10 * MINUTE), index(4, NOW - 5 * MINUTE)];
    const known = new Map<string, ManifestRead>([
      [d(2), { unknown: 'not read' }],
      [d(4), { references: [], mediaType: OCI_INDEX }],
    ]);
    const full = selectImages(listing, { Match: 'untagged' }, NOW, known);
    const slice = provenSlice(listing, { Match: 'untagged' }, known, full);
    expect(slice).toMatchObject({ after: NOW - 50 * MINUTE + PUSH_ORDER_MARGIN_MS });
    expect('images' in slice && slice.images.map((image) => image.digest)).toEqual([d(3), d(4)]);
  });

  test('an unread index within the margin after it moves the start up to it', () => {
    const listing = [index(1, NOW - 50 * MINUTE), index(2, NOW - 50 * MINUTE + 30_000, []), plain(3, NOW - 10 * MINUTE)];
    const known = new Map<string, ManifestRead>([[d(1), { unknown: 'not read' }]]);
    const full = selectImages(listing, { Match: 'untagged' }, NOW, known);
    expect(provenSlice(listing, { Match: 'untagged' }, known, full)).toMatchObject({ after: NOW - 50 * MINUTE + 30_000 + PUSH_ORDER_MARGIN_MS });
  });

  test.each<[string, WireSelection, ListedImage[]]>([
    ['keepNewest ranks the whole repository', { Match: 'untagged', KeepNewest: '2' }, [index(1, NOW - 50 * MINUTE), plain(2, NOW)]],
    ['an unread index without a push time', { Match: 'untagged' }, [index(1, Number.POSITIVE_INFINITY), plain(2, NOW)]],
  ])('none when %s', (_why, selection, listing) => {
    const known = new Map<string, ManifestRead>([[d(1), { unknown: 'not read' }]]);
    const full = selectImages(listing, selection, NOW, known);
    expect(provenSlice(listing, selection, known, full)).toHaveProperty('none');
  });

  test('none when an index read references an image pushed after it: the push times cannot be trusted here', () => {
    const listing = [index(1, NOW - 50 * MINUTE), index(2, NOW - 40 * MINUTE), plain(3, NOW - 10 * MINUTE)];
    const known = new Map<string, ManifestRead>([
      [d(1), { unknown: 'not read' }],
      [d(2), { references: [d(3)], mediaType: OCI_INDEX }],
    ]);
    const full = selectImages(listing, { Match: 'untagged' }, NOW, known);
    expect(provenSlice(listing, { Match: 'untagged' }, known, full)).toMatchObject({ none: expect.stringContaining('pushed after it') });
  });

  test('an index of the slice is one image with what it references, pushed before the slice: a tag there keeps it tagged', () => {
    // untaggedImages(): index 3 has no tag of its own, but the platform image it lists (pushed an hour before it, and
    // before the unread index 1) carries one: with every manifest read, the image is tagged and stays.
    const listing = [plain(2, NOW - 60 * MINUTE), index(1, NOW - 50 * MINUTE), index(3, NOW - 10 * MINUTE, [])];
    listing[0] = { ...listing[0], tags: ['v1-amd64'] };
    const selection: WireSelection = { Match: 'untagged' };
    const read = new Map<string, ManifestRead>([[d(3), { references: [d(2)], mediaType: OCI_INDEX }]]);
    const everyRead = new Map<string, ManifestRead>([...read, [d(1), { references: [], mediaType: OCI_INDEX }]]);
    expect(selectImages(listing, selection, NOW, everyRead).passes.flat()).toEqual([]);
    const partial = selectWithWhatIsKnown(listing, selection, NOW, new Map([...read, [d(1), { unknown: 'not read' }]]));
    expect(partial.slice).toBeDefined();
    expect(partial.passes.flat()).toEqual([]);
  });

  test('reads go newest first, an image without a push time before all', () => {
    const listing = [plain(1, NOW - 3 * MINUTE), plain(2, Number.POSITIVE_INFINITY), plain(3, NOW - MINUTE), plain(4, NOW - 2 * MINUTE)];
    expect(readOrder(listing, [d(1), d(3), 'sha256:unlisted', d(4), d(2)])).toEqual([d(2), d(3), d(4), d(1), 'sha256:unlisted']);
  });
});
