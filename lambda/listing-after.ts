/**
 * What a listing becomes once BatchDeleteImage has applied image IDs to it,
 * in order, as ECR Public applies them (pure): a digest removes the image
 * with every tag; a tag removes that tag, and the image with its last one; a
 * tag with a digest does the same if the tag names that digest, and nothing
 * otherwise (ImageTagDoesNotMatchDigest). An ID that names nothing changes
 * nothing (ImageNotFound).
 *
 * A dry run selects on this, so that it sees the repository as the real run
 * does after deleting the declared image IDs. It assumes ECR Public applies
 * each of them: a refusal (ImageReferencedByManifestList) is the server's to
 * give, and a dry run asks nothing of the server.
 */
import type { WireImageId } from '../lib/contract';
import type { ListedImage } from './list';

export function listingAfter(listing: readonly ListedImage[], imageIds: readonly WireImageId[]): ListedImage[] {
  const images = new Map(listing.map((image) => [image.digest, image]));
  const holderOf = new Map(listing.flatMap((image) => image.tags.map((tag) => [tag, image.digest] as const)));
  for (const { imageTag, imageDigest } of imageIds) {
    const digest = imageTag !== undefined ? holderOf.get(imageTag) : imageDigest;
    const image = digest === undefined ? undefined : images.get(digest);
    if (!image || (imageTag !== undefined && imageDigest !== undefined && imageDigest !== image.digest)) continue;
    const tags = imageTag === undefined ? [] : image.tags.filter((tag) => tag !== imageTag);
    if (imageTag !== undefined) holderOf.delete(imageTag);
    if (tags.length > 0) {
      images.set(image.digest, { ...image, tags });
    } else {
      images.delete(image.digest);
      for (const tag of image.tags) holderOf.delete(tag);
    }
  }
  return [...images.values()];
}
