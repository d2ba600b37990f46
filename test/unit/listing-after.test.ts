/**
 * What a listing becomes once image IDs are applied to it, as ECR Public
 * applies them: the dry run selects on it, so that it decides as the real run
 * does after deleting the declared image IDs.
 */
import * as fc from 'fast-check';
import type { ListedImage } from '../../lambda/list';
import { listingAfter } from '../../lambda/listing-after';
import { selectImages } from '../../lambda/select';
import type { WireImageId } from '../../lib/contract';
import { EcrPublicStore, singleImage } from '../../local/ecr-public';

const NOW = Date.UTC(2026, 10, 26, 12);
const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const image = (n: number, tags: string[], pushedAt = NOW - n * 1000): ListedImage => ({
  digest: d(n),
  tags,
  pushedAt,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
});
const view = (listing: readonly ListedImage[]) => new Map(listing.map((i) => [i.digest, i.tags]));

test('a digest removes the image; a tag its tag, and the image with its last one; a tag with another digest nothing; an unknown ID nothing', () => {
  const listing = [image(1, ['a', 'b']), image(2, ['c']), image(3, []), image(4, ['d'])];
  const after = listingAfter(listing, [
    { imageTag: 'a' },
    { imageTag: 'c' },
    { imageDigest: d(3) },
    { imageTag: 'd', imageDigest: d(1) },
    { imageTag: 'zz' },
  ]);
  expect(view(after)).toEqual(
    new Map([
      [d(1), ['b']],
      [d(4), ['d']],
    ]),
  );
  expect(listingAfter(listing, [])).toEqual(listing);
});

test("the issue's example: with pr-4 declared, keepNewest(2) of pr-* decides on pr-1..pr-3, as the real run does", () => {
  const listing = [image(1, ['pr-1'], NOW - 4000), image(2, ['pr-2'], NOW - 3000), image(3, ['pr-3'], NOW - 2000), image(4, ['pr-4'], NOW - 1000)];
  const selection = { Match: 'tagged' as const, TagPatterns: ['pr-*'], KeepNewest: '2' };
  const after = listingAfter(listing, [{ imageTag: 'pr-4' }]);
  expect(selectImages(after, selection, NOW, new Map()).passes.flat()).toEqual([{ imageTag: 'pr-1', imageDigest: d(1) }]);
  // Selecting on the listing that still holds pr-4 (what the dry run did) keeps pr-4 and pr-3, and deletes pr-2 too.
  expect(selectImages(listing, selection, NOW, new Map()).passes.flat()).toHaveLength(2);
});

test('property: the same as the local ECR Public does to its store, for any IDs in any order', () => {
  const idArb: fc.Arbitrary<WireImageId> = fc.oneof(
    fc.record({ imageTag: fc.constantFrom('a', 'b', 'c', 'd', 'x') }),
    fc.record({ imageDigest: fc.constantFrom(...[1, 2, 3, 4].map((n) => singleImage(`la-${n}`).digest)) }),
    fc.record({ imageTag: fc.constantFrom('a', 'b', 'c'), imageDigest: fc.constantFrom(...[1, 2, 3].map((n) => singleImage(`la-${n}`).digest)) }),
  );
  const tagsArb = fc.array(fc.subarray(['a', 'b', 'c', 'd']), { minLength: 4, maxLength: 4 });
  fc.assert(
    fc.property(tagsArb, fc.array(idArb, { maxLength: 8 }), (tagSets, ids) => {
      const store = new EcrPublicStore();
      store.createRepository('r');
      // Each tag on one image at most: a later image takes it, as a push moves a tag.
      const seen = new Set<string>();
      tagSets.forEach((tags, i) => {
        const own = tags.filter((t) => !seen.has(t));
        own.forEach((t) => seen.add(t));
        const manifest = singleImage(`la-${i + 1}`).manifest;
        store.putImage('r', manifest);
        for (const tag of own) store.putImage('r', manifest, { tag });
      });
      const listing: ListedImage[] = [...store.repository('r').images.values()].map((i) => ({
        digest: i.digest,
        tags: [...i.tags],
        pushedAt: i.pushedAt,
        mediaType: i.mediaType,
      }));
      store.batchDeleteImage(
        'r',
        ids.map((id) => ({ ...id })),
      );
      const expected = new Map([...store.repository('r').images.values()].map((i) => [i.digest, [...i.tags].sort()]));
      expect(new Map([...view(listingAfter(listing, ids))].map(([digest, tags]) => [digest, [...tags].sort()]))).toEqual(expected);
    }),
    { numRuns: 300 },
  );
});
