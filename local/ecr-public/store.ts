/**
 * The state of the emulated ECR Public registry and what its operations do to
 * it, without HTTP: repositories, their images (the exact manifest bytes, the
 * digest computed from them, media type, tags, push time) and which index
 * references which image. json-api.ts validates requests and calls these
 * methods; registry-api.ts reads manifests from here.
 */
import { createHash } from 'node:crypto';
import { ApiError, DIGEST_PATTERN, FailureCode, INDEX_MEDIA_TYPES, LIMITS, MEDIA_TYPES, SUPPORTED_MEDIA_TYPES } from './model';

/** What happens when an image that a remaining index references is deleted. */
export type ReferencedImageDeletion = 'refuse' | 'allow';

/**
 * How DescribeImages lists a repository. ECR Public documents no order, and
 * may leave `imageManifestMediaType` out (an image pushed before it recorded
 * one): a client must not rely on either.
 */
export interface ListingBehaviour {
  /** `push` (push order, the default) or `digest` (by digest: unrelated to push order, stable under deletions). */
  order: 'push' | 'digest';
  /** Leave `imageManifestMediaType` out of every image detail. */
  omitManifestMediaType: boolean;
}

export interface StoredImage {
  readonly digest: string;
  /** The manifest exactly as pushed. */
  readonly manifest: Buffer;
  readonly mediaType: string;
  /** DescribeImages' artifactMediaType: the manifest's `artifactType` (OCI 1.1), else an image manifest's config media type. */
  readonly artifactMediaType?: string;
  /** The digest the manifest's `subject` names (OCI 1.1 referrers: signatures, SBOMs, attestations). */
  readonly subject?: string;
  /** For an image manifest: the sum of its layers' sizes. */
  readonly sizeInBytes?: number;
  /** For an index: the digests of the manifests it lists. */
  readonly references: readonly string[];
  /** Tags in the order they were put. */
  tags: string[];
  /** Push order within the registry: the paging cursor of DescribeImages. */
  readonly sequence: number;
  /** Epoch milliseconds. */
  pushedAt: number;
}

export interface StoredRepository {
  readonly name: string;
  readonly createdAt: number;
  /** Images by digest, in push order (Map keeps insertion order). */
  readonly images: Map<string, StoredImage>;
  readonly tags: Map<string, string>;
  /** How many images of this repository list each digest. */
  readonly referencedBy: Map<string, number>;
}

export interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

export interface ImageFailure {
  imageId: ImageId;
  failureCode: FailureCode;
  failureReason: string;
}

export const digestOf = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

const TAG_PATTERN = /^[\w][\w.-]{0,127}$/;

export interface StoreOptions {
  /** The account ID: registryId in answers and ARNs. @default '123456789012' */
  readonly registryId?: string;
  /** The registry alias in repository URIs (`public.ecr.aws/<alias>/<name>`). @default 'emulated' */
  readonly alias?: string;
  /** @default 'refuse' */
  readonly referencedImageDeletion?: ReferencedImageDeletion;
  /** The clock, for push times. @default Date.now */
  readonly now?: () => number;
}

/** DescribeImages as ECR Public answers: push order, with each manifest's media type. */
export const DEFAULT_LISTING: Readonly<ListingBehaviour> = { order: 'push', omitManifestMediaType: false };

export class EcrPublicStore {
  readonly registryId: string;
  readonly alias: string;
  referencedImageDeletion: ReferencedImageDeletion;
  /** Deletions refused with ImageReferencedByManifestList so far (for benchmarks). */
  refused = 0;
  /** How DescribeImages lists (see ListingBehaviour). */
  readonly listing: ListingBehaviour = { ...DEFAULT_LISTING };
  /**
   * Per-image failures to answer instead of deleting (digest -> failure code,
   * e.g. KmsError), whatever names the image: a deletion that fails for a
   * reason of the service's own.
   */
  readonly deletionFailures = new Map<string, FailureCode>();
  readonly repositories = new Map<string, StoredRepository>();
  private readonly now: () => number;
  private sequence = 0;

  constructor(options: StoreOptions = {}) {
    this.registryId = options.registryId ?? '123456789012';
    this.alias = options.alias ?? 'emulated';
    this.referencedImageDeletion = options.referencedImageDeletion ?? 'refuse';
    this.now = options.now ?? Date.now;
  }

  repositoryUri(name: string): string {
    return `public.ecr.aws/${this.alias}/${name}`;
  }

  repositoryArn(name: string): string {
    return `arn:aws:ecr-public::${this.registryId}:repository/${name}`;
  }

  createRepository(name: string): StoredRepository {
    if (this.repositories.has(name)) {
      throw new ApiError(
        'RepositoryAlreadyExistsException',
        `The repository with name '${name}' already exists in the registry with id '${this.registryId}'`,
      );
    }
    const repository: StoredRepository = { name, createdAt: this.now(), images: new Map(), tags: new Map(), referencedBy: new Map() };
    this.repositories.set(name, repository);
    return repository;
  }

  repository(name: string): StoredRepository {
    const repository = this.repositories.get(name);
    if (!repository) {
      throw new ApiError(
        'RepositoryNotFoundException',
        `The repository with name '${name}' does not exist in the registry with id '${this.registryId}'`,
      );
    }
    return repository;
  }

  deleteRepository(name: string, force: boolean): StoredRepository {
    const repository = this.repository(name);
    if (repository.images.size > 0 && !force) {
      throw new ApiError(
        'RepositoryNotEmptyException',
        `The repository with name '${name}' in registry with id '${this.registryId}' cannot be deleted because it still contains images`,
      );
    }
    this.repositories.delete(name);
    return repository;
  }

  /**
   * PutImage: stores the manifest under the sha256 of its exact bytes, or adds
   * (moves) a tag. An index must list only images already in the repository.
   */
  putImage(
    repositoryName: string,
    manifestText: string,
    options: { mediaType?: string; tag?: string; digest?: string; pushedAt?: number } = {},
  ): StoredImage {
    const repository = this.repository(repositoryName);
    const manifest = Buffer.from(manifestText, 'utf8');
    const digest = digestOf(manifest);
    if (options.digest !== undefined && options.digest !== digest) {
      throw new ApiError(
        'ImageDigestDoesNotMatchException',
        `Invalid parameter at 'imageDigest': ${options.digest} does not match the manifest's digest ${digest}`,
      );
    }
    let parsed: {
      mediaType?: unknown;
      artifactType?: unknown;
      manifests?: Array<{ digest?: unknown }>;
      config?: { mediaType?: unknown };
      layers?: Array<{ size?: unknown }>;
      subject?: { digest?: unknown };
    };
    try {
      parsed = JSON.parse(manifestText);
    } catch {
      throw new ApiError('InvalidParameterException', "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Invalid JSON syntax'");
    }
    const declared = typeof parsed?.mediaType === 'string' ? parsed.mediaType : undefined;
    if (options.mediaType !== undefined && declared !== undefined && options.mediaType !== declared) {
      throw new ApiError(
        'InvalidParameterException',
        `Invalid parameter at 'imageManifestMediaType': '${options.mediaType}' does not match the manifest's mediaType '${declared}'`,
      );
    }
    const mediaType = options.mediaType ?? declared;
    if (mediaType === undefined) {
      throw new ApiError(
        'InvalidParameterException',
        "Invalid parameter at 'imageManifestMediaType': the manifest has no mediaType field and none was given",
      );
    }
    if (!SUPPORTED_MEDIA_TYPES.includes(mediaType)) {
      throw new ApiError('InvalidParameterException', `Invalid parameter at 'imageManifestMediaType': unsupported media type '${mediaType}'`);
    }
    if (options.tag !== undefined) checkTag(options.tag);
    const isIndex = INDEX_MEDIA_TYPES.includes(mediaType);
    const references = isIndex ? (parsed.manifests ?? []).map((entry) => String(entry?.digest)) : [];
    const missing = references.filter((child) => !repository.images.has(child));
    if (missing.length > 0) {
      throw new ApiError(
        'ReferencedImagesNotFoundException',
        `The manifest list references images that are not in the repository: ${missing.join(', ')}`,
      );
    }

    const existing = repository.images.get(digest);
    if (existing) {
      if (options.tag === undefined || existing.tags.includes(options.tag)) {
        throw new ApiError(
          'ImageAlreadyExistsException',
          `Image with digest '${digest}'${options.tag === undefined ? '' : ` and tag '${options.tag}'`} already exists in the repository with name '${repositoryName}' in registry with id '${this.registryId}'`,
        );
      }
      this.moveTag(repository, options.tag, existing);
      return existing;
    }
    const layers = Array.isArray(parsed.layers) ? parsed.layers : [];
    const artifactType = typeof parsed.artifactType === 'string' ? parsed.artifactType : undefined;
    const image: StoredImage = {
      digest,
      manifest,
      mediaType,
      artifactMediaType: artifactType ?? (!isIndex && typeof parsed.config?.mediaType === 'string' ? parsed.config.mediaType : undefined),
      // A referrer may name a subject that is not (or not yet) in the repository (OCI distribution spec 1.1).
      subject: typeof parsed.subject?.digest === 'string' ? parsed.subject.digest : undefined,
      sizeInBytes: isIndex ? undefined : layers.reduce((sum, layer) => sum + (typeof layer?.size === 'number' ? layer.size : 0), 0),
      references,
      tags: [],
      sequence: ++this.sequence,
      pushedAt: options.pushedAt ?? this.now(),
    };
    repository.images.set(digest, image);
    for (const child of references) repository.referencedBy.set(child, (repository.referencedBy.get(child) ?? 0) + 1);
    if (options.tag !== undefined) this.moveTag(repository, options.tag, image);
    return image;
  }

  private moveTag(repository: StoredRepository, tag: string, image: StoredImage): void {
    const previous = repository.tags.get(tag);
    if (previous !== undefined) {
      const owner = repository.images.get(previous);
      if (owner) owner.tags = owner.tags.filter((t) => t !== tag);
    }
    repository.tags.set(tag, image.digest);
    image.tags.push(tag);
  }

  /** The image a tag or digest names, if any. */
  find(repository: StoredRepository, reference: string): StoredImage | undefined {
    const digest = DIGEST_PATTERN.test(reference) ? reference : repository.tags.get(reference);
    return digest === undefined ? undefined : repository.images.get(digest);
  }

  /**
   * BatchDeleteImage, one image ID at a time in the order given: a tag removes
   * the tag, and the image with its last tag; a digest removes the image and
   * every tag; a tag with a digest removes the tag if it names that digest.
   */
  batchDeleteImage(repositoryName: string, imageIds: ImageId[]): { imageIds: ImageId[]; failures: ImageFailure[] } {
    const repository = this.repository(repositoryName);
    const deleted: ImageId[] = [];
    const failures: ImageFailure[] = [];
    for (const imageId of imageIds) {
      const outcome = this.deleteOne(repository, imageId);
      if ('failureCode' in outcome) failures.push(outcome);
      else deleted.push(...outcome);
    }
    return { imageIds: deleted, failures };
  }

  private deleteOne(repository: StoredRepository, imageId: ImageId): ImageId[] | ImageFailure {
    const fail = (failureCode: FailureCode, failureReason: string): ImageFailure => ({ imageId, failureCode, failureReason });
    const { imageDigest, imageTag } = imageId;
    if (imageDigest === undefined && imageTag === undefined)
      return fail('MissingDigestAndTag', 'Invalid request parameters: both tag and digest cannot be null');
    if (imageDigest !== undefined && !DIGEST_PATTERN.test(imageDigest))
      return fail('InvalidImageDigest', "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'");
    if (imageTag !== undefined && !isValidTag(imageTag))
      return fail('InvalidImageTag', `Invalid request parameters: image tag '${imageTag}' is not valid`);
    // A tag (with or without a digest) names the image the tag is on; a digest given with it must be that image's.
    const holder = imageTag !== undefined ? repository.tags.get(imageTag) : imageDigest;
    const image = holder === undefined ? undefined : repository.images.get(holder);
    if (!image) return fail('ImageNotFound', 'Requested image not found');
    const injected = this.deletionFailures.get(image.digest);
    if (injected !== undefined) return fail(injected, `Requested image could not be deleted (${injected}, injected)`);
    if (imageTag !== undefined && imageDigest !== undefined && imageDigest !== image.digest) {
      return fail(
        'ImageTagDoesNotMatchDigest',
        `Invalid request parameters: given tag '${imageTag}' does not map to the given digest '${imageDigest}'`,
      );
    }
    if (imageTag !== undefined && image.tags.length > 1) {
      image.tags = image.tags.filter((t) => t !== imageTag);
      repository.tags.delete(imageTag);
      return [{ imageDigest: image.digest, imageTag }];
    }
    if (this.referencedImageDeletion === 'refuse' && (repository.referencedBy.get(image.digest) ?? 0) > 0) {
      this.refused++;
      return fail('ImageReferencedByManifestList', 'Requested image is referenced by a manifest list in the repository');
    }
    repository.images.delete(image.digest);
    for (const tag of image.tags) repository.tags.delete(tag);
    for (const child of image.references) {
      const count = (repository.referencedBy.get(child) ?? 1) - 1;
      if (count > 0) repository.referencedBy.set(child, count);
      else repository.referencedBy.delete(child);
    }
    return image.tags.length > 0 ? image.tags.map((tag) => ({ imageDigest: image.digest, imageTag: tag })) : [{ imageDigest: image.digest }];
  }
}

function isValidTag(tag: string): boolean {
  return tag.length >= LIMITS.ImageTag.min && tag.length <= LIMITS.ImageTag.max && TAG_PATTERN.test(tag);
}

function checkTag(tag: string): void {
  if (!isValidTag(tag)) {
    throw new ApiError('InvalidParameterException', `Invalid parameter at 'imageTag' failed to satisfy constraint: '${tag}' is not a valid tag`);
  }
}

export const isIndex = (image: { mediaType: string }): boolean => INDEX_MEDIA_TYPES.includes(image.mediaType);
export { MEDIA_TYPES };
