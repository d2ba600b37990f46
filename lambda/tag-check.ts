/**
 * Which image each tag names now: read just before a selection removes tags
 * by name alone, so that a tag that moved to another image since the listing
 * (a push during the event) is not taken from the image just pushed.
 *
 * A selection removes a tag by name alone only from an image that keeps other
 * tags (select.ts): ECR Public does not document what BatchDeleteImage does
 * with a `{ imageTag, imageDigest }` pair whose image has other tags, and if
 * it deleted the whole image, the pair would delete tags nobody selected. So
 * such removals are checked here instead, one DescribeImages call per 100
 * tags, which leaves a window of one round trip instead of the event's.
 */
import { DescribeImagesCommand, ECRPUBLICClient, ImageNotFoundException } from '@aws-sdk/client-ecr-public';
import { MAX_IDS_PER_CALL } from '../lib/contract';
import { toBatches } from './execute';

export interface TagCheckRequest {
  readonly repositoryName: string;
  readonly registryId?: string;
  readonly tags: readonly string[];
}

/**
 * The digest each tag names now; a tag that no image holds any more maps to
 * undefined. DescribeImages refuses a whole call when one ID is not found, so
 * such a call is asked again tag by tag (the rare case of a tag deleted by
 * someone else during the event).
 */
export async function currentDigests(
  client: ECRPUBLICClient,
  request: TagCheckRequest,
  signal?: AbortSignal,
): Promise<Map<string, string | undefined>> {
  const digests = new Map<string, string | undefined>();
  const describe = async (tags: readonly string[]): Promise<void> => {
    const answer = await client.send(
      new DescribeImagesCommand({
        repositoryName: request.repositoryName,
        registryId: request.registryId,
        imageIds: tags.map((imageTag) => ({ imageTag })),
      }),
      { abortSignal: signal },
    );
    for (const detail of answer.imageDetails ?? []) {
      for (const tag of detail.imageTags ?? []) if (tags.includes(tag)) digests.set(tag, detail.imageDigest);
    }
  };
  for (const batch of toBatches([...new Set(request.tags)], MAX_IDS_PER_CALL)) {
    try {
      await describe(batch);
    } catch (error) {
      if (!(error instanceof ImageNotFoundException)) throw error;
      for (const tag of batch) {
        try {
          await describe([tag]);
        } catch (single) {
          if (!(single instanceof ImageNotFoundException)) throw single;
          digests.set(tag, undefined);
        }
      }
    }
  }
  return digests;
}
