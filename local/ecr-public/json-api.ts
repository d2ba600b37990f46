/**
 * ECR Public's JSON 1.1 API (`X-Amz-Target: SpencerFrontendService.<Operation>`):
 * checks each request against the model's shapes and limits (model.ts), then
 * applies it to the store. Timestamps are epoch seconds, JSON numbers, as the
 * AWS JSON protocol sends them. Paging tokens are opaque (base64url of a
 * position that the client cannot forge into another repository's listing).
 */
import { RegistryCredentials } from './credentials';
import {
  ApiError,
  API_REGIONS,
  AUTHORIZATION_TOKEN_REGION,
  DEFAULT_MAX_RESULTS,
  EMULATED_OPERATIONS,
  LIMITS,
  Operation,
  SIGNING_NAME,
  TARGET_PREFIX,
} from './model';
import { EcrPublicStore, ImageId, StoredImage, StoredRepository } from './store';

type Input = Record<string, unknown>;
/** What an operation may know of the call besides its input: the Region it was signed for, and the registry credentials. */
interface Call {
  readonly region: string;
  readonly credentials: RegistryCredentials;
}
const seconds = (ms: number) => ms / 1000;

/** Answers `{status, body}` for one JSON API request, or throws an ApiError. */
export function handleJsonRequest(
  store: EcrPublicStore,
  target: string,
  authorization: string | undefined,
  text: string,
  credentials: RegistryCredentials = new RegistryCredentials(Date.now),
): unknown {
  const region = checkSignature(authorization);
  const operation = target.startsWith(`${TARGET_PREFIX}.`) ? target.slice(TARGET_PREFIX.length + 1) : '';
  if (!(EMULATED_OPERATIONS as readonly string[]).includes(operation)) {
    throw new ApiError('UnknownOperationException', `The emulator does not serve '${target}' (it serves ${EMULATED_OPERATIONS.join(', ')})`);
  }
  let input: Input;
  try {
    input = text.length === 0 ? {} : (JSON.parse(text) as Input);
  } catch {
    throw new ApiError('SerializationException', 'Start of structure or map found where not expected');
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new ApiError('SerializationException', 'The request body is not a JSON object');
  return OPERATIONS[operation as Operation](store, input, { region, credentials });
}

/** SigV4 as far as the emulator can judge it: present, for ecr-public, in a Region that serves the API. Returns that Region. */
function checkSignature(authorization: string | undefined): string {
  if (!authorization) throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization);
  if (!scope) throw new ApiError('InvalidSignatureException', 'The request signature is not AWS Signature Version 4', 403);
  const [, region, service] = scope;
  if (service !== SIGNING_NAME)
    throw new ApiError('InvalidSignatureException', `Credential should be scoped to correct service: '${SIGNING_NAME}'.`, 403);
  if (!API_REGIONS.includes(region)) {
    throw new ApiError(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region: ECR Public's API is served in ${API_REGIONS.join(' and ')}, not '${region}'.`,
      403,
    );
  }
  return region;
}

const OPERATIONS: Record<Operation, (store: EcrPublicStore, input: Input, call: Call) => unknown> = {
  GetAuthorizationToken(_store, _input, { region, credentials }) {
    if (region !== AUTHORIZATION_TOKEN_REGION) {
      throw new ApiError('UnsupportedCommandException', `GetAuthorizationToken command is only supported in ${AUTHORIZATION_TOKEN_REGION}.`);
    }
    const { authorizationToken, expiresAt } = credentials.issue();
    return { authorizationData: { authorizationToken, expiresAt: seconds(expiresAt) } };
  },

  CreateRepository(store, input) {
    const name = repositoryName(input);
    const repository = store.createRepository(name);
    return { repository: repositoryOf(store, repository), catalogData: {} };
  },

  DeleteRepository(store, input) {
    registryIdParameter(store, input.registryId);
    const repository = store.deleteRepository(repositoryName(input), input.force === true);
    return { repository: repositoryOf(store, repository) };
  },

  DescribeRepositories(store, input) {
    registryIdParameter(store, input.registryId);
    let repositories: StoredRepository[];
    if (input.repositoryNames !== undefined) {
      const names = list(input.repositoryNames, 'repositoryNames', LIMITS.RepositoryNameList).map((n, i) =>
        checkRepositoryName(n, `repositoryNames.${i + 1}.member`),
      );
      if (input.nextToken !== undefined || input.maxResults !== undefined) {
        throw new ApiError('InvalidParameterException', 'Invalid parameter: repositoryNames cannot be used with maxResults or nextToken');
      }
      repositories = names.map((n) => store.repository(n));
      return { repositories: repositories.map((r) => repositoryOf(store, r)) };
    }
    repositories = [...store.repositories.values()];
    const page = paginate(repositories, input, 'repositories');
    return { repositories: page.items.map((r) => repositoryOf(store, r)), ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  },

  DescribeRegistries(store, input) {
    const page = paginate([store], input, 'registries');
    return {
      registries: page.items.map((s) => ({
        registryId: s.registryId,
        registryArn: `arn:aws:ecr-public::${s.registryId}:registry/${s.registryId}`,
        registryUri: `public.ecr.aws/${s.alias}`,
        verified: false,
        aliases: [{ name: s.alias, status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true }],
      })),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  },

  PutImage(store, input) {
    const name = repositoryName(input);
    const manifest = input.imageManifest;
    if (typeof manifest !== 'string' || manifest.length < LIMITS.ImageManifest.min || manifest.length > LIMITS.ImageManifest.max) {
      throw validation('imageManifest', `Member must have length between ${LIMITS.ImageManifest.min} and ${LIMITS.ImageManifest.max}`);
    }
    registryIdOrAlias(store, input.registryId);
    const tag = optionalString(input.imageTag, 'imageTag');
    const image = store.putImage(name, manifest, {
      mediaType: optionalString(input.imageManifestMediaType, 'imageManifestMediaType'),
      tag,
      digest: optionalString(input.imageDigest, 'imageDigest'),
    });
    return {
      image: {
        registryId: store.registryId,
        repositoryName: name,
        imageId: { imageDigest: image.digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
        imageManifest: manifest,
        imageManifestMediaType: image.mediaType,
      },
    };
  },

  DescribeImages(store, input) {
    registryIdParameter(store, input.registryId);
    const name = repositoryName(input);
    const repository = store.repository(name);
    if (input.imageIds !== undefined) {
      if (input.nextToken !== undefined || input.maxResults !== undefined) {
        throw new ApiError('InvalidParameterException', 'Invalid parameter: imageIds cannot be used with maxResults or nextToken');
      }
      const ids = list(input.imageIds, 'imageIds', LIMITS.ImageIdentifierList) as ImageId[];
      const found = new Map<string, StoredImage>();
      for (const id of ids) {
        const image = id.imageDigest !== undefined ? repository.images.get(id.imageDigest) : store.find(repository, String(id.imageTag));
        if (!image || (id.imageTag !== undefined && !image.tags.includes(id.imageTag))) {
          throw new ApiError(
            'ImageNotFoundException',
            `The image with imageId ${JSON.stringify(id)} does not exist within the repository with name '${name}' in the registry with id '${store.registryId}'`,
          );
        }
        found.set(image.digest, image);
      }
      return { imageDetails: [...found.values()].map((image) => imageDetail(store, name, image)) };
    }
    // Push order by default; by digest (unrelated to push order) when the listing behaviour says so.
    const byDigest = store.listing.order === 'digest';
    const images = [...repository.images.values()];
    if (byDigest) images.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
    const page = paginate(images, input, `images:${name}`, byDigest ? (image) => image.digest : (image) => image.sequence);
    return { imageDetails: page.items.map((image) => imageDetail(store, name, image)), ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  },

  DescribeImageTags(store, input) {
    registryIdParameter(store, input.registryId);
    const name = repositoryName(input);
    const repository = store.repository(name);
    const tags = [...repository.tags.entries()].map(([tag, digest]) => ({ tag, image: repository.images.get(digest)! }));
    const page = paginate(tags, input, `tags:${name}`);
    return {
      imageTagDetails: page.items.map(({ tag, image }) => ({
        imageTag: tag,
        createdAt: seconds(image.pushedAt),
        imageDetail: {
          imageDigest: image.digest,
          ...(image.sizeInBytes !== undefined ? { imageSizeInBytes: image.sizeInBytes } : {}),
          imagePushedAt: seconds(image.pushedAt),
          imageManifestMediaType: image.mediaType,
          ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
        },
      })),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  },

  BatchDeleteImage(store, input) {
    registryIdOrAlias(store, input.registryId);
    const name = repositoryName(input);
    if (input.imageIds === undefined) throw validation('imageIds', 'Member must not be null');
    const ids = list(input.imageIds, 'imageIds', LIMITS.ImageIdentifierList).map((id, i) => {
      if (id === null || typeof id !== 'object') throw validation(`imageIds.${i + 1}.member`, 'Member must be a structure');
      const { imageDigest, imageTag } = id as ImageId;
      return {
        ...(imageDigest !== undefined ? { imageDigest: String(imageDigest) } : {}),
        ...(imageTag !== undefined ? { imageTag: String(imageTag) } : {}),
      };
    });
    return store.batchDeleteImage(name, ids);
  },
};

function repositoryOf(store: EcrPublicStore, repository: StoredRepository) {
  return {
    repositoryArn: store.repositoryArn(repository.name),
    registryId: store.registryId,
    repositoryName: repository.name,
    repositoryUri: store.repositoryUri(repository.name),
    createdAt: seconds(repository.createdAt),
  };
}

function imageDetail(store: EcrPublicStore, name: string, image: StoredImage) {
  return {
    registryId: store.registryId,
    repositoryName: name,
    imageDigest: image.digest,
    ...(image.tags.length > 0 ? { imageTags: [...image.tags] } : {}),
    ...(image.sizeInBytes !== undefined ? { imageSizeInBytes: image.sizeInBytes } : {}),
    imagePushedAt: seconds(image.pushedAt),
    ...(store.listing.omitManifestMediaType ? {} : { imageManifestMediaType: image.mediaType }),
    ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
  };
}

/** The service's validation message: `1 validation error detected: Value … at '…' failed to satisfy constraint: …`. */
function validation(member: string, constraint: string, value?: unknown): ApiError {
  return new ApiError(
    'InvalidParameterException',
    `1 validation error detected: Value ${value === undefined ? 'null' : `'${JSON.stringify(value)}'`} at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

function checkRepositoryName(value: unknown, member: string): string {
  if (typeof value !== 'string') throw validation(member, 'Member must not be null', value);
  const { min, max, pattern } = LIMITS.RepositoryName;
  if (value.length < min || value.length > max) throw validation(member, `Member must have length between ${min} and ${max}`, value);
  if (!new RegExp(`^${pattern}$`).test(value)) throw validation(member, `Member must satisfy regular expression pattern: ${pattern}`, value);
  return value;
}

function repositoryName(input: Input): string {
  return checkRepositoryName(input.repositoryName, 'repositoryName');
}

function optionalString(value: unknown, member: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validation(member, 'Member must be a string', value);
  return value;
}

function list(value: unknown, member: string, limits: { min: number; max: number }): unknown[] {
  if (!Array.isArray(value)) throw validation(member, 'Member must be a list', value);
  if (value.length < limits.min || value.length > limits.max) {
    throw validation(
      member,
      `Member must have length ${value.length < limits.min ? `greater than or equal to ${limits.min}` : `less than or equal to ${limits.max}`}`,
      value.length,
    );
  }
  return value;
}

/** A registryId naming another account's registry: the caller can reach only its own. */
function registryIdParameter(store: EcrPublicStore, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !new RegExp(`^${LIMITS.RegistryId.pattern}$`).test(value)) {
    throw validation('registryId', `Member must satisfy regular expression pattern: ${LIMITS.RegistryId.pattern}`, value);
  }
  if (value !== store.registryId) throw new ApiError('RepositoryNotFoundException', `The registry with id '${value}' is not this account's registry`);
}

function registryIdOrAlias(store: EcrPublicStore, value: unknown): void {
  if (value === undefined) return;
  const { min, max } = LIMITS.RegistryIdOrAlias;
  if (typeof value !== 'string' || value.length < min || value.length > max)
    throw validation('registryId', `Member must have length between ${min} and ${max}`, value);
  if (value !== store.registryId && value !== store.alias)
    throw new ApiError('RepositoryNotFoundException', `The registry '${value}' is not this account's registry`);
}

/**
 * One page of `items`: maxResults 1 to 1000 (default 100), and an opaque token
 * naming what was listed and where the page ended, so a token from one listing
 * is refused by another. With `cursor` (increasing along `items`), the next page
 * starts after the last item returned even if items were deleted meanwhile;
 * without, at the position reached.
 */
function paginate<T>(items: T[], input: Input, listing: string, cursor?: (item: T) => number | string): { items: T[]; nextToken?: string } {
  const maxResults = input.maxResults ?? DEFAULT_MAX_RESULTS;
  const { min, max } = LIMITS.MaxResults;
  if (typeof maxResults !== 'number' || !Number.isInteger(maxResults) || maxResults < min || maxResults > max) {
    throw validation(
      'maxResults',
      `Member must have value ${Number(maxResults) < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`}`,
      maxResults,
    );
  }
  let start = 0;
  if (input.nextToken !== undefined) {
    const decoded = typeof input.nextToken === 'string' ? Buffer.from(input.nextToken, 'base64url').toString('utf8') : '';
    const match = /^([^|]+)\|(.*)$/.exec(decoded);
    if (!match || match[2] !== listing || (!cursor && !/^\d+$/.test(match[1])))
      throw new ApiError('InvalidParameterException', "Invalid parameter at 'nextToken': the token is not valid for this request");
    const after = /^\d+$/.test(match[1]) ? Number(match[1]) : match[1];
    start = cursor ? items.findIndex((item) => cursor(item) > after) : (after as number);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + maxResults);
  const next = start + page.length;
  if (next >= items.length || page.length === 0) return { items: page };
  const position = cursor ? cursor(page[page.length - 1]) : next;
  return { items: page, nextToken: Buffer.from(`${position}|${listing}`).toString('base64url') };
}
