// The SDK floor of the cold-start benchmark: the least a handler that calls
// BatchDeleteImage through @aws-sdk/client-ecr-public can do. One client (with
// the handler's credentials from the environment), one call, no validation, no
// response to CloudFormation. Bundled at bench time with the handler's esbuild
// options (lambda/bundle-options.mjs), so it measures the SDK's own cold start.
import { BatchDeleteImageCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { fromEnv } from '@aws-sdk/credential-provider-env';

export async function handler(event) {
  const client = new ECRPUBLICClient({ region: 'us-east-1', credentials: fromEnv() });
  const { RepositoryName, ImageIds } = event.ResourceProperties;
  await client.send(new BatchDeleteImageCommand({ repositoryName: RepositoryName, imageIds: ImageIds }));
}
