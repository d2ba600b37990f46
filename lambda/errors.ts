/**
 * The reason of a thrown error, in words that say what to do. The SDK's
 * exceptions are named as ECR Public names them; the ones a user can act on
 * get the fix (the permission and the ARN, the API region, waiting out
 * throttling).
 */
import type { WireProperties } from '../lib/contract';

/** Error names the SDK gives to throttling answers (its own list of throttling codes, in part). */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ThrottledException',
  'SlowDown',
]);

interface SdkErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly $metadata?: { readonly attempts?: number; readonly httpStatusCode?: number };
}

/** The repository's ARN as IAM names it; the account is the registry's, or the handler's own when none is given. */
export function repositoryArn(properties: Pick<WireProperties, 'RepositoryName' | 'RegistryId'>): string {
  return `arn:aws:ecr-public::${properties.RegistryId ?? '<this account>'}:repository/${properties.RepositoryName}`;
}

/** Name and message of an error, with what to do when the error is one a user can act on. */
export function explainError(error: unknown, properties?: Pick<WireProperties, 'RepositoryName' | 'RegistryId' | 'ApiRegion' | 'Select'>): string {
  if (!(error instanceof Error)) return String(error);
  const { name, message, $metadata } = error as SdkErrorShape & Error;
  const said = `${name}: ${message}`;
  if (!properties) return said;
  const arn = repositoryArn(properties);
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnauthorizedOperation') {
    const actions = properties.Select ? 'ecr-public:BatchDeleteImage and ecr-public:DescribeImages' : 'ecr-public:BatchDeleteImage';
    return `${said}. The handler's role needs ${actions} on ${arn}; the construct grants them, so look for a permissions boundary, an SCP or a registry policy that denies them`;
  }
  if (name === 'UnsupportedCommandException') {
    return `${said}. ECR Public's API region ${properties.ApiRegion} does not serve this command: set apiRegion to us-east-1`;
  }
  if (name === 'InvalidParameterException') {
    return `${said}. ECR Public refused a parameter of the request on ${arn}: check repositoryName, registryId and the image IDs against the API's rules`;
  }
  if ((name !== undefined && THROTTLING.has(name)) || $metadata?.httpStatusCode === 429) {
    const attempts = $metadata?.attempts !== undefined ? ` after ${$metadata.attempts} attempts` : ' after the last attempt';
    return `${said}. ECR Public kept throttling the requests on ${arn}${attempts}: deploy again later (what was deleted before stays deleted; the rest is retried)`;
  }
  return said;
}
