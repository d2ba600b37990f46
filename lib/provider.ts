import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Construct ID of the per-stack singleton; a new major version of the handler gets a new ID. */
const PROVIDER_ID = 'EcrPublicImageDeletionProvider-v1';

/**
 * Where the pre-built handler bundle lives in the package (built by
 * lambda/bundle.mjs at build time; synth only copies it).
 */
export const HANDLER_ASSET_DIR = path.join(__dirname, '..', 'assets', 'handler');

/**
 * Lambda timeout. The handler stops calling ECR Public early enough to answer
 * CloudFormation before it (see lambda/index.ts): 10,000 image IDs take 100
 * calls, 25 rounds of 4 in flight, well inside it even with throttling retries.
 */
export const HANDLER_TIMEOUT = Duration.minutes(5);

/**
 * The one handler function of a stack, shared by every EcrPublicImageDeletion
 * in it. Each deletion adds the narrowest permission it needs to the shared role.
 */
export class EcrPublicImageDeletionProvider extends Construct {
  /** Returns the stack's provider, creating it on first use. */
  static of(scope: Construct): EcrPublicImageDeletionProvider {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(PROVIDER_ID);
    return (existing as EcrPublicImageDeletionProvider | undefined) ?? new EcrPublicImageDeletionProvider(stack, PROVIDER_ID);
  }

  readonly function: lambda.Function;
  readonly role: iam.Role;

  private constructor(scope: Construct, id: string) {
    super(scope, id);

    // A role of our own rather than AWSLambdaBasicExecutionRole, whose log
    // permissions apply to every log group (Resource: *).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Deletes declared images from ECR Public repositories (cdk-ecr-public-image-deletion)',
    });
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: logs.RetentionDays.ONE_MONTH,
      // The log group goes with the stack: per-PR stacks leave nothing behind.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    logGroup.grantWrite(this.role);

    this.function = new lambda.Function(this, 'Handler', {
      description: 'Custom resource handler of cdk-ecr-public-image-deletion: ECR Public BatchDeleteImage',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(HANDLER_ASSET_DIR),
      memorySize: 256,
      timeout: HANDLER_TIMEOUT,
      role: this.role,
      logGroup,
    });
  }
}
