/**
 * An in-memory ECR Public repository behind aws-sdk-client-mock, for what moto
 * lacks: DescribeImages paging (maxResults, nextToken) and manifest lists.
 * In the `refuse` behaviour an image that a kept index references cannot be
 * deleted (ImageReferencedByManifestList); in `allow` it can, as the field
 * report says ECR Public did. `serveManifests` serves the index manifests over
 * the registry API, for the handler's registry reader.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchDeleteImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRPUBLICClient,
  ImageFailure,
  ImageIdentifier,
} from '@aws-sdk/client-ecr-public';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { FixtureImage } from './buildx-fixtures';

/** What ECR Public does with a deletion that would break a kept index. */
export type ServerBehaviour = 'refuse' | 'allow';

export class FakeRegistry {
  readonly images = new Map<string, FixtureImage & { tags: string[] }>();
  describeCalls = 0;
  deleteCalls = 0;
  manifestReads = 0;
  /** Set to answer every manifest read with this status. */
  manifestStatus?: number;
  private server?: http.Server;

  constructor(
    images: FixtureImage[],
    readonly behaviour: ServerBehaviour = 'refuse',
  ) {
    for (const image of images) this.images.set(image.digest, { ...image, tags: [...image.tags] });
  }

  /** Serves `GET /v2/<path>/manifests/<digest>` on a loopback port; returns its base URL. */
  async serveManifests(): Promise<string> {
    this.server = http.createServer((request, response) => {
      const digest = /\/manifests\/(.+)$/.exec(request.url ?? '')?.[1] ?? '';
      this.manifestReads++;
      const image = this.images.get(decodeURIComponent(digest));
      if (this.manifestStatus !== undefined) {
        response.writeHead(this.manifestStatus).end();
      } else if (image?.manifest === undefined) {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      } else {
        response.writeHead(200, { 'content-type': image.mediaType, 'docker-content-digest': image.digest }).end(image.manifest);
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Answers DescribeImages and BatchDeleteImage on the mock. */
  attach(mock: AwsClientStub<ECRPUBLICClient>): void {
    mock.on(DescribeRepositoriesCommand).callsFake((input) => ({
      repositories: (input.repositoryNames ?? []).map((name: string) => ({ repositoryName: name, repositoryUri: `public.ecr.aws/a1b2c3d4/${name}` })),
    }));
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
        if (lastTagOrDigest && referencedBy && this.behaviour === 'refuse') {
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
