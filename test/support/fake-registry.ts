/**
 * An in-memory ECR Public repository behind aws-sdk-client-mock, for what moto
 * lacks: DescribeImages paging (maxResults, nextToken) and manifest lists
 * (an image that a kept index references cannot be deleted:
 * ImageReferencedByManifestList, as ECR refuses it).
 */
import { BatchDeleteImageCommand, DescribeImagesCommand, ECRPUBLICClient, ImageFailure, ImageIdentifier } from '@aws-sdk/client-ecr-public';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { FixtureImage } from './buildx-fixtures';

export class FakeRegistry {
  readonly images = new Map<string, FixtureImage & { tags: string[] }>();
  describeCalls = 0;
  deleteCalls = 0;

  constructor(images: FixtureImage[]) {
    for (const image of images) this.images.set(image.digest, { ...image, tags: [...image.tags] });
  }

  /** Answers DescribeImages and BatchDeleteImage on the mock. */
  attach(mock: AwsClientStub<ECRPUBLICClient>): void {
    mock.on(DescribeImagesCommand).callsFake((input) => {
      this.describeCalls++;
      const all = [...this.images.values()];
      const size = Math.min(input.maxResults ?? 100, 1000);
      const start = input.nextToken ? Number(input.nextToken) : 0;
      const page = all.slice(start, start + size);
      return {
        imageDetails: page.map((image) => ({
          imageDigest: image.digest,
          imageTags: image.tags.length > 0 ? [...image.tags] : undefined,
          imagePushedAt: new Date(image.pushedAt),
          imageManifestMediaType: image.mediaType,
        })),
        nextToken: start + size < all.length ? String(start + size) : undefined,
      };
    });
    mock.on(BatchDeleteImageCommand).callsFake((input) => {
      this.deleteCalls++;
      const imageIds: ImageIdentifier[] = [];
      const failures: ImageFailure[] = [];
      for (const id of input.imageIds ?? []) {
        const image = id.imageDigest ? this.images.get(id.imageDigest) : [...this.images.values()].find((i) => i.tags.includes(id.imageTag!));
        if (!image) {
          failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
          continue;
        }
        const lastTagOrDigest = id.imageDigest !== undefined || image.tags.length <= 1;
        const referencedBy = [...this.images.values()].find((other) => other.references?.includes(image.digest));
        if (lastTagOrDigest && referencedBy) {
          failures.push({ imageId: id, failureCode: 'ImageReferencedByManifestList', failureReason: `referenced by ${referencedBy.digest}` });
          continue;
        }
        if (id.imageDigest !== undefined) {
          this.images.delete(image.digest);
          imageIds.push(
            ...(image.tags.length > 0 ? image.tags.map((imageTag) => ({ imageDigest: image.digest, imageTag })) : [{ imageDigest: image.digest }]),
          );
        } else {
          image.tags = image.tags.filter((t) => t !== id.imageTag);
          if (image.tags.length === 0) this.images.delete(image.digest);
          imageIds.push({ imageDigest: image.digest, imageTag: id.imageTag });
        }
      }
      return { imageIds, failures };
    });
  }

  /** digest -> tags, for assertions. */
  snapshot(): Map<string, string[]> {
    return new Map([...this.images.values()].map((image) => [image.digest, [...image.tags].sort()]));
  }
}
