/**
 * A reference model of the part of ECR Public the handler relies on: images
 * (a digest and its tags) in repositories, and BatchDeleteImage. Written from
 * AWS's documented semantics, not from moto's code, so that tests can check
 * the handler against both and moto against the model:
 *
 * - "You can remove a tag from an image by specifying the image's tag in your
 *   request. When you remove the last tag from an image, the image is deleted
 *   from your repository." (ECR Public API reference, BatchDeleteImage)
 * - "You can completely delete an image (and all of its tags) by specifying
 *   the digest of the image in your request." (same page)
 * - An ID that matches nothing is reported in `failures` with `ImageNotFound`;
 *   nothing else changes.
 * - A tag and a digest together name the tag, checked against the digest
 *   (failure code `ImageTagDoesNotMatchDigest` in the API model): when the tag
 *   points at that digest, the tag is removed, exactly as by the tag alone;
 *   when it points at another image, nothing changes. The documentation says
 *   no more than the failure code; this reading is the one the construct
 *   documents (ImageIdentifier in lib/image-deletion.ts). moto 5.2 differs: it
 *   deletes the whole image (every tag) for a matching tag and digest
 *   (test/emulator/cross-check-moto.test.ts names it); the emulator follows
 *   this model.
 * - IDs are applied one after the other, in the order given.
 * - A tag names one image at a time; pushing a tag that another image holds
 *   moves it (a mutable repository), leaving that image untagged.
 *
 * What the model leaves out, as the tests need none of it: manifest lists
 * (ImageReferencedByManifestList), KMS errors, paging, the 100-ID limit.
 */

export interface ModelImageId {
  readonly imageTag?: string;
  readonly imageDigest?: string;
}

export interface ModelFailure {
  readonly imageId: ModelImageId;
  readonly failureCode: 'ImageNotFound' | 'ImageTagDoesNotMatchDigest' | 'MissingDigestAndTag';
  readonly failureReason: string;
}

export interface ModelDeleteAnswer {
  /** What was removed: one entry per tag removed (with the image's digest), or the bare digest of an untagged image. */
  readonly imageIds: ModelImageId[];
  readonly failures: ModelFailure[];
}

/** Thrown like the API's RepositoryNotFoundException. */
export class ModelRepositoryNotFound extends Error {
  constructor(readonly repositoryName: string) {
    super(`The repository with name '${repositoryName}' does not exist in the registry`);
    this.name = 'RepositoryNotFoundException';
  }
}

/** A repository's content in the shape of listImages(): digest -> sorted tags. */
export type RegistrySnapshot = Map<string, string[]>;

export class EcrPublicModel {
  /** repository -> digest -> tags (insertion order kept, for stable answers). */
  private readonly repositories = new Map<string, Map<string, string[]>>();

  createRepository(name: string): void {
    if (!this.repositories.has(name)) this.repositories.set(name, new Map());
  }

  hasRepository(name: string): boolean {
    return this.repositories.has(name);
  }

  /** Pushes an image under a tag. The tag moves here if another image holds it. */
  putImage(repositoryName: string, digest: string, tag: string): void {
    const images = this.images(repositoryName);
    for (const [otherDigest, tags] of images) {
      if (otherDigest !== digest && tags.includes(tag)) {
        images.set(
          otherDigest,
          tags.filter((t) => t !== tag),
        );
      }
    }
    const tags = images.get(digest) ?? [];
    if (!tags.includes(tag)) tags.push(tag);
    images.set(digest, tags);
  }

  /** The digest a tag points at, if any. */
  digestOf(repositoryName: string, tag: string): string | undefined {
    for (const [digest, tags] of this.images(repositoryName)) {
      if (tags.includes(tag)) return digest;
    }
    return undefined;
  }

  batchDeleteImage(repositoryName: string, imageIds: readonly ModelImageId[]): ModelDeleteAnswer {
    const images = this.images(repositoryName);
    const answer: ModelDeleteAnswer = { imageIds: [], failures: [] };
    const fail = (imageId: ModelImageId, failureCode: ModelFailure['failureCode'], failureReason: string) =>
      answer.failures.push({ imageId: { ...imageId }, failureCode, failureReason });

    for (const id of imageIds) {
      const { imageTag, imageDigest } = id;
      if (imageTag === undefined && imageDigest === undefined) {
        fail(id, 'MissingDigestAndTag', 'Invalid request parameters: both tag and digest cannot be null');
        continue;
      }
      if (imageTag === undefined) {
        // By digest: the image and every tag it has.
        const tags = imageDigest !== undefined ? images.get(imageDigest) : undefined;
        if (imageDigest === undefined || tags === undefined) {
          fail(id, 'ImageNotFound', 'Requested image not found');
          continue;
        }
        images.delete(imageDigest);
        if (tags.length === 0) answer.imageIds.push({ imageDigest });
        for (const tag of tags) answer.imageIds.push({ imageDigest, imageTag: tag });
        continue;
      }
      // By tag (and digest, checked): the tag; the image too when it was the last one.
      const holder = this.digestOf(repositoryName, imageTag);
      if (holder === undefined) {
        fail(id, 'ImageNotFound', 'Requested image not found');
        continue;
      }
      if (imageDigest !== undefined && imageDigest !== holder) {
        fail(id, 'ImageTagDoesNotMatchDigest', 'Invalid request parameters: given tag does not map to the given digest');
        continue;
      }
      const rest = (images.get(holder) ?? []).filter((t) => t !== imageTag);
      if (rest.length === 0) {
        images.delete(holder);
      } else {
        images.set(holder, rest);
      }
      answer.imageIds.push({ imageDigest: holder, imageTag });
    }
    return answer;
  }

  /** The repository's content, in the shape listImages() returns. */
  snapshot(repositoryName: string): RegistrySnapshot {
    const copy: RegistrySnapshot = new Map();
    for (const [digest, tags] of this.images(repositoryName)) copy.set(digest, [...tags].sort());
    return copy;
  }

  private images(repositoryName: string): Map<string, string[]> {
    const images = this.repositories.get(repositoryName);
    if (!images) throw new ModelRepositoryNotFound(repositoryName);
    return images;
  }
}

/**
 * What went missing between two snapshots that nothing in `declared` asked
 * for: a tag may go when its tag or its image's digest was declared; an image
 * may go when its digest was declared or each of its tags went by a
 * declaration. Returns one line per undeclared loss; empty when none.
 */
export function undeclaredLosses(before: RegistrySnapshot, after: RegistrySnapshot, declared: readonly ModelImageId[]): string[] {
  const tagDeclared = (tag: string, digest: string) =>
    declared.some(
      (id) =>
        (id.imageTag === undefined && id.imageDigest === digest) ||
        (id.imageTag === tag && (id.imageDigest === undefined || id.imageDigest === digest)),
    );
  const losses: string[] = [];
  for (const [digest, tags] of before) {
    const now = after.get(digest);
    const digestDeclared = declared.some((id) => id.imageDigest === digest && id.imageTag === undefined);
    if (now === undefined) {
      const allTagsDeclared = tags.length > 0 && tags.every((tag) => tagDeclared(tag, digest));
      if (!digestDeclared && !allTagsDeclared) losses.push(`image ${digest} (tags ${tags.join(', ') || 'none'}) is gone, undeclared`);
      continue;
    }
    for (const tag of tags) {
      if (!now.includes(tag) && !tagDeclared(tag, digest)) losses.push(`tag ${tag} of image ${digest} is gone, undeclared`);
    }
  }
  return losses;
}
