/**
 * The order of registry reads: newest push first.
 *
 * ECR Public's PutImage refuses an image index that references an image the
 * repository does not hold (ReferencedImagesNotFoundException, API
 * reference), so an index is pushed after every image it references: an
 * image can be referenced only by indexes pushed at or after it. Reading the
 * indexes that stay from the newest down therefore proves, read after read,
 * that every image pushed after the oldest index read so far is referenced
 * by no index that was not read (partial-selection.ts decides on that
 * slice). An image with no push time is read first: nothing bounds what it
 * may reference, and until it is read nothing can be proved.
 */
import type { ListedImage } from './list';

/** `digests` newest push first (no push time first of all), ties by digest; digests the listing does not hold last, in their order. */
export function readOrder(listing: readonly ListedImage[], digests: readonly string[]): string[] {
  const pushedAt = new Map(listing.map((image) => [image.digest, image.pushedAt]));
  const listed = digests.filter((digest) => pushedAt.has(digest));
  const unlisted = digests.filter((digest) => !pushedAt.has(digest));
  listed.sort((a, b) => {
    const [ta, tb] = [pushedAt.get(a) as number, pushedAt.get(b) as number];
    if (ta !== tb) return ta === Number.POSITIVE_INFINITY ? -1 : tb === Number.POSITIVE_INFINITY ? 1 : tb - ta;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return [...listed, ...unlisted];
}
