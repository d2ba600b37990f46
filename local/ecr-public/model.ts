/**
 * What the emulator takes from ECR Public's official API model (botocore
 * `ecr-public/2020-10-30/service-2.json`): the operations, the limits and
 * patterns of their input shapes, and the error and failure codes. Transcribed
 * by hand; test/emulator/model.test.ts compares each value with the model file
 * shipped in the project's Python environment, so a drift fails a test.
 */

/** `metadata.targetPrefix`: X-Amz-Target is `SpencerFrontendService.<Operation>`. */
export const TARGET_PREFIX = 'SpencerFrontendService';
/** `metadata.signingName`. */
export const SIGNING_NAME = 'ecr-public';
/** The Regions that serve the ECR Public API (the service's endpoint rule set knows no other). */
export const API_REGIONS: readonly string[] = ['us-east-1', 'us-west-2'];

/** The operations the emulator serves, of the model's 27. */
export const EMULATED_OPERATIONS = [
  'GetAuthorizationToken',
  'CreateRepository',
  'DeleteRepository',
  'DescribeRepositories',
  'DescribeRegistries',
  'PutImage',
  'DescribeImages',
  'DescribeImageTags',
  'BatchDeleteImage',
] as const;
export type Operation = (typeof EMULATED_OPERATIONS)[number];

/**
 * The Region that serves GetAuthorizationToken: the service answers any other
 * with UnsupportedCommandException "GetAuthorizationToken command is only
 * supported in us-east-1." (field reports: aws/aws-cdk#23977, aws/aws-cdk#24244).
 */
export const AUTHORIZATION_TOKEN_REGION = 'us-east-1';

/** Shape limits, by the model's shape name. */
export const LIMITS = {
  /** RepositoryName: min, max, pattern. */
  RepositoryName: { min: 2, max: 205, pattern: '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*' },
  /** ImageTag: min, max (no pattern in the model). */
  ImageTag: { min: 1, max: 300 },
  /** MaxResults of DescribeImages, DescribeImageTags, DescribeRepositories, DescribeRegistries. */
  MaxResults: { min: 1, max: 1000 },
  /** ImageIdentifierList: BatchDeleteImage.imageIds and DescribeImages.imageIds. */
  ImageIdentifierList: { min: 1, max: 100 },
  /** RepositoryNameList: DescribeRepositories.repositoryNames. */
  RepositoryNameList: { min: 1, max: 100 },
  /** ImageManifest: PutImage.imageManifest, in characters. */
  ImageManifest: { min: 1, max: 4194304 },
  /** RegistryId: twelve digits. */
  RegistryId: { pattern: '[0-9]{12}' },
  /** RegistryIdOrAlias (PutImage, BatchDeleteImage). */
  RegistryIdOrAlias: { min: 2, max: 50 },
  /** RegistryAliasName. */
  RegistryAliasName: { min: 2, max: 50, pattern: '[a-z][a-z0-9]+(?:[._-][a-z0-9]+)*' },
  /** Base64: GetAuthorizationToken's authorizationData.authorizationToken. */
  Base64: { pattern: '^\\S+$' },
} as const;

/** Default page size of DescribeImages when maxResults is absent (the operation's documentation: 100). */
export const DEFAULT_MAX_RESULTS = 100;

/** Exception shapes the emulated operations name in the model. */
export const ERRORS = {
  ServerException: 500,
  InvalidParameterException: 400,
  RepositoryAlreadyExistsException: 400,
  RepositoryNotFoundException: 400,
  RepositoryNotEmptyException: 400,
  ImageNotFoundException: 400,
  ImageAlreadyExistsException: 400,
  ImageDigestDoesNotMatchException: 400,
  ReferencedImagesNotFoundException: 400,
  UnsupportedCommandException: 400,
  LimitExceededException: 400,
} as const;
export type ErrorCode = keyof typeof ERRORS;

/** ImageFailureCode: BatchDeleteImage's per-image failure codes. */
export const FAILURE_CODES = [
  'InvalidImageDigest',
  'InvalidImageTag',
  'ImageTagDoesNotMatchDigest',
  'ImageNotFound',
  'MissingDigestAndTag',
  'ImageReferencedByManifestList',
  'KmsError',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

/** Manifest media types (OCI image spec, Docker distribution). */
export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;
export const INDEX_MEDIA_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList];
export const SUPPORTED_MEDIA_TYPES: readonly string[] = Object.values(MEDIA_TYPES);

/** An image digest as ECR writes it: sha256 and 64 lowercase hex characters. */
export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** An error the JSON API answers with: `{"__type": code, "message": ...}`. */
export class ApiError extends Error {
  constructor(
    readonly code:
      | ErrorCode
      | 'ThrottlingException'
      | 'UnknownOperationException'
      | 'InvalidSignatureException'
      | 'MissingAuthenticationTokenException'
      | 'AccessDeniedException'
      | 'SerializationException',
    message: string,
    readonly status: number = code in ERRORS ? ERRORS[code as ErrorCode] : 400,
  ) {
    super(message);
  }
}
