/**
 * The ECR Public client, one per API region, kept across warm invocations.
 *
 * The region is pinned: ECR Public's API is served only in us-east-1 and
 * us-west-2, while the stack (and this function) may run in any region.
 * `AWS_ENDPOINT_URL_ECR_PUBLIC` (the SDK's service-specific endpoint variable)
 * still redirects it, which is how the tests reach a local backend.
 *
 * Credentials come from the environment, where Lambda puts the function role's
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). The SDK's
 * default chain would look there first too, but it brings SSO, ini-file, IMDS,
 * web-identity and process providers with their nested STS and SSO clients,
 * which a Lambda function never uses: 42% of the bundle, and a quarter of what
 * the handler's cold start adds to a bare Node process. The bundle leaves that
 * chain out (see no-default-credentials.ts); bench/README.md has the figures.
 */
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Attempts per call, first included. The SDK's standard strategy retries
 * throttling, 5xx and connection errors with jittered exponential backoff.
 */
export const MAX_ATTEMPTS = 8;

/** A request that gets no answer within this time is abandoned and retried. */
export const REQUEST_TIMEOUT_MS = 20_000;
export const CONNECTION_TIMEOUT_MS = 5_000;

const clients = new Map<string, ECRPUBLICClient>();

export function clientFor(region: string): ECRPUBLICClient {
  let client = clients.get(region);
  if (!client) {
    client = new ECRPUBLICClient({
      region,
      credentials: fromEnv(),
      maxAttempts: MAX_ATTEMPTS,
      requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: CONNECTION_TIMEOUT_MS },
    });
    clients.set(region, client);
  }
  return client;
}
