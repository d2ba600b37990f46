/**
 * The selection says, image by image, why it kept what it covered (the log
 * line's `keptImages`, from which the demo labels each image): the reasons
 * add up to the counts the reason and the attributes give, and no image is
 * both kept and deleted.
 */
import * as fc from 'fast-check';
import type { ListedImage } from '../../lambda/list';
import { INDEX_MEDIA_TYPES, ManifestRead, selectImages } from '../../lambda/select';
import type { WireSelection } from '../../lib/contract';

const NOW = Date.UTC(2026, 10, 26, 12);
const DAY = 86_400_000;
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const PLAIN = 'application/vnd.oci.image.manifest.v1+json';

interface Repository {
  readonly listing: ListedImage[];
  readonly references: Map<string, ManifestRead>;
}

/** Plain images, and indexes over earlier plain images; some index manifests unreadable. */
const repositoryArb: fc.Arbitrary<Repository> = fc
  .array(
    fc.record({
      index: fc.boolean(),
      tags: fc.subarray(['pr-1', 'pr-2', 'rel', 'keep']),
      ageDays: fc.integer({ min: 0, max: 20 }),
      children: fc.array(fc.nat(), { maxLength: 3 }),
      unreadable: fc.boolean(),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((units) => {
    const listing: ListedImage[] = [];
    const references = new Map<string, ManifestRead>();
    units.forEach((unit, i) => {
      const plain = listing.filter((image) => image.mediaType === PLAIN);
      const image: ListedImage = {
        digest: digest(i + 1),
        tags: unit.tags.map((tag) => `${tag}-${i}`),
        pushedAt: NOW - unit.ageDays * DAY - i,
        mediaType: unit.index ? INDEX_MEDIA_TYPES[0] : PLAIN,
      };
      listing.push(image);
      if (unit.index) {
        const children = plain.length > 0 ? [...new Set(unit.children.map((c) => plain[c % plain.length].digest))] : [];
        references.set(image.digest, unit.unreadable && i % 3 === 0 ? { unknown: 'registry down' } : { references: children });
      }
    });
    return { listing, references };
  });

const selectionArb: fc.Arbitrary<WireSelection> = fc.record(
  {
    Match: fc.constantFrom<WireSelection['Match']>('all', 'untagged', 'tagged'),
    TagPatterns: fc.constant(['pr-*']),
    KeepNewest: fc.constantFrom('1', '2'),
    ProtectTags: fc.constantFrom(['keep-*'], ['rel-*']),
    OlderThanSeconds: fc.constant(String((5 * DAY) / 1000)),
  },
  { requiredKeys: ['Match'] },
);

test('the reasons of the kept images add up to the counts, and no image is kept and deleted', () => {
  fc.assert(
    fc.property(repositoryArb, selectionArb, ({ listing, references }, selection) => {
      const wire = selection.Match === 'tagged' ? selection : { ...selection, TagPatterns: undefined };
      if (wire.Match === 'untagged') delete (wire as { ProtectTags?: string[] }).ProtectTags;
      // The manifests the decision needs, as the handler reads them: an image manifest references nothing, signs nothing.
      const known = new Map(references);
      let result = selectImages(listing, wire, NOW, known);
      while (result.needs.length > 0) {
        for (const need of result.needs) known.set(need, references.get(need) ?? { references: [] });
        result = selectImages(listing, wire, NOW, known);
      }
      // The platform images of a kept image are listed with its reason; the counts count images as users see them.
      const reasons = [...result.kept].filter(([kept]) => !result.partOf.has(kept)).map(([, reason]) => reason);
      const count = (reason: string) => reasons.filter((r) => r === reason).length;
      expect(count('protected')).toBe(result.keptProtected);
      expect(count('newest')).toBe(result.keptNewest);
      expect(count('referenced')).toBe(result.keptReferenced);
      expect(count('referrer')).toBe(result.keptReferrers);
      expect(count('unknown')).toBe(result.keptUnknown);
      const deletedDigests = new Set(result.passes.flat().flatMap((id) => (id.imageDigest ? [id.imageDigest] : [])));
      for (const kept of result.kept.keys()) expect(deletedDigests.has(kept)).toBe(false);
      for (const [kept, reason] of result.kept) if (reason === 'referenced') expect(result.referencedBy.has(kept)).toBe(true);
    }),
    { numRuns: 300 },
  );
});

test('with the registry down, each image the rules cover is kept because a manifest is unknown, and says so', () => {
  const index: ListedImage = { digest: digest(9), tags: [], pushedAt: NOW - 10 * DAY, mediaType: INDEX_MEDIA_TYPES[0] };
  const listing: ListedImage[] = [
    { digest: digest(1), tags: ['v1'], pushedAt: NOW - 30 * DAY, mediaType: PLAIN },
    { digest: digest(2), tags: [], pushedAt: NOW - 20 * DAY, mediaType: PLAIN },
    { digest: digest(3), tags: ['latest'], pushedAt: NOW - DAY, mediaType: PLAIN },
    index,
  ];
  const result = selectImages(
    listing,
    { Match: 'all', KeepNewest: '1', ProtectTags: ['v1'] },
    NOW,
    new Map([[index.digest, { unknown: 'registry down' }]]),
  );
  // What makes one image is unknown: what the rules would keep as protected or newest is kept for that reason too.
  expect(result.kept).toEqual(
    new Map([
      [digest(1), 'unknown'],
      [digest(3), 'unknown'],
      [digest(9), 'unknown'],
      [digest(2), 'unknown'],
    ]),
  );
  expect(result.keptUnknown).toBe(4);
  expect(result).toMatchObject({ keptNewest: 0, keptProtected: 0 });
});
