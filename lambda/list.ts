/**
 * The repository's listing: DescribeImages, page after page (1,000 images a
 * page, the API's maximum), kept as compact records so that a repository of
 * 100,000 images fits easily in the function's memory.
 */
import { DescribeImagesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';

/** One image of the listing: what a selection needs and nothing more. */
export interface ListedImage {
  readonly digest: string;
  readonly tags: readonly string[];
  /** Epoch milliseconds; UNKNOWN_PUSH_TIME when the API gave none. */
  readonly pushedAt: number;
  /**
   * The manifest's media type (`imageManifestMediaType`): an image index or
   * manifest list references other images. Absent when the listing does not
   * say; then the manifest is read. `artifactMediaType` is not a stand-in: it
   * is the config's (or an artifact's) type, and says nothing of the manifest.
   */
  readonly mediaType?: string;
}

/**
 * The push time of an image the API gave none for: later than any other, so
 * that such an image counts as the newest. Under olderThan it is never old
 * enough, and under keepNewest it is kept first: an image whose age is unknown
 * is never the first to go.
 */
export const UNKNOWN_PUSH_TIME = Number.POSITIVE_INFINITY;

/** Largest page DescribeImages returns (API model: MaxResults 1 to 1000). */
export const PAGE_SIZE = 1000;

export interface ListRequest {
  readonly repositoryName: string;
  readonly registryId?: string;
}

/** Every image of the repository, and how many DescribeImages pages it took. */
export interface RepositoryListing {
  readonly images: ListedImage[];
  readonly pages: number;
}

/**
 * Lists every image of the repository, following nextToken. `onPage` is told
 * each page's images as they come, while the next page is asked for.
 */
export async function listRepository(
  client: ECRPUBLICClient,
  request: ListRequest,
  signal?: AbortSignal,
  onPage?: (images: readonly ListedImage[]) => void,
): Promise<RepositoryListing> {
  const images: ListedImage[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await client.send(
      new DescribeImagesCommand({ repositoryName: request.repositoryName, registryId: request.registryId, maxResults: PAGE_SIZE, nextToken }),
      { abortSignal: signal },
    );
    pages++;
    const listed: ListedImage[] = [];
    for (const detail of page.imageDetails ?? []) {
      if (!detail.imageDigest) continue;
      listed.push({
        digest: detail.imageDigest,
        tags: detail.imageTags ?? [],
        pushedAt: detail.imagePushedAt?.getTime() ?? UNKNOWN_PUSH_TIME,
        mediaType: detail.imageManifestMediaType || undefined,
      });
    }
    images.push(...listed);
    onPage?.(listed);
    nextToken = page.nextToken;
  } while (nextToken);
  return { images, pages };
}
