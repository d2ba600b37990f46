import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Annotations, Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { REFERENCE_CACHE_TABLE_ENV } from './contract';

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

/** The shortest and longest function timeout a deletion may set (`functionTimeout`); Lambda allows up to 15 minutes. */
export const MIN_FUNCTION_TIMEOUT = Duration.minutes(1);
export const MAX_FUNCTION_TIMEOUT = Duration.minutes(15);

/**
 * How long CloudFormation waits for an answer before it fails the event. The
 * handler always answers within HANDLER_TIMEOUT; this only bounds the wait if
 * the function dies without answering (Lambda then retries it, twice at most),
 * instead of CloudFormation's default of one hour.
 */
export const SERVICE_TIMEOUT = Duration.minutes(15);

/**
 * Distinct repositories past which a synth-time warning is given: every
 * repository adds an inline policy of about 150 characters to the handler's
 * role, and IAM allows 10,240 characters of inline policies per role in all.
 */
export const REPOSITORY_POLICY_WARNING_THRESHOLD = 40;

/**
 * Schedules past which a synth-time warning is given: every schedule adds a
 * statement of about 450 bytes (its rule's invoke permission) to the
 * function's resource-based policy, which Lambda limits to 20 KB.
 */
export const SCHEDULE_WARNING_THRESHOLD = 30;

/** How long the handler's log group keeps each event's log line, unless a deletion says otherwise. */
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

const retentionText = (retention: logs.RetentionDays): string => (retention === logs.RetentionDays.INFINITE ? 'INFINITE' : `${retention} days`);

/** What a selection's registry reads need: the stack's reference cache and the policy that authenticates the reads. */
export interface SelectionReads {
  /** The reference cache: digest -> what the manifest references (docs/registry-quotas-and-cache.md). */
  readonly table: dynamodb.Table;
  /** ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken, which take no resource ARN. */
  readonly authentication: iam.Policy;
}

/**
 * The one handler function of a stack, shared by every EcrPublicImageDeletion
 * in it. Each repository gets its own narrow policy on the shared role.
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
  readonly logGroup: logs.LogGroup;
  /** The deletion that set the log group's retention, and the value it set. */
  private retentionSetBy?: { readonly path: string; readonly retention: logs.RetentionDays };
  /** The deletion that set the function's timeout, and the value it set (seconds). */
  private timeoutSetBy?: { readonly path: string; readonly seconds: number };
  private readonly repositoryPolicies = new Map<string, iam.Policy>();
  private selectionReads?: SelectionReads;
  private readonly listingGranted = new Set<string>();
  private schedules = 0;

  private constructor(scope: Construct, id: string) {
    super(scope, id);

    // A role of our own rather than AWSLambdaBasicExecutionRole, whose log
    // permissions apply to every log group (Resource: *).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Deletes declared images from ECR Public repositories (cdk-ecr-public-image-deletion)',
    });
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: DEFAULT_LOG_RETENTION,
      // The log group goes with the stack: per-PR stacks leave nothing behind.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    logGroup.grantWrite(this.role);
    this.logGroup = logGroup;
    // Every event may read its own stack's state: a FAILED answer becomes a
    // report during a rollback (DescribeStacks), and a Delete of allImages()
    // empties only a repository that CloudFormation is deleting (DescribeStacks;
    // in a cleanup, GetTemplate and ListStackResources too: see
    // lambda/repository-teardown.ts). This stack only. In the role's default
    // policy, which the function, and so every deletion, depends on, and which
    // no rename changes: it holds from the first event to the stack's deletion.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate', 'cloudformation:ListStackResources'],
        resources: [Aws.STACK_ID],
      }),
    );

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

  /**
   * Sets the log group's retention for the deletion at `deletionPath`. One log group
   * serves every deletion of the stack, so two deletions that ask for
   * different retentions are a mistake: the answer is the problem to report,
   * naming the deletion that asked first.
   */
  useLogRetention(deletionPath: string, retention: logs.RetentionDays): string | undefined {
    const previous = this.retentionSetBy;
    if (previous !== undefined && previous.retention !== retention) {
      return (
        `logRetention ${retentionText(retention)} differs from the ${retentionText(previous.retention)} that '${previous.path}' gives: ` +
        "every deletion of a stack writes to the stack's one log group (give both the same logRetention, or give it once)"
      );
    }
    this.retentionSetBy ??= { path: deletionPath, retention };
    (this.logGroup.node.defaultChild as logs.CfnLogGroup).retentionInDays = retention === logs.RetentionDays.INFINITE ? undefined : retention;
    return undefined;
  }

  /**
   * Sets the function's timeout for the deletion at `deletionPath`
   * (`functionTimeout`): whole seconds from MIN_FUNCTION_TIMEOUT to
   * MAX_FUNCTION_TIMEOUT, and the same for every deletion that gives one (one
   * function serves them all). The answer is the problem to report, if any.
   */
  useTimeout(deletionPath: string, timeout: Duration): string | undefined {
    if (timeout.isUnresolved()) return 'functionTimeout is a token: give a duration known at synth time (1 to 15 minutes)';
    const ms = timeout.toMilliseconds();
    const [min, max] = [MIN_FUNCTION_TIMEOUT.toSeconds(), MAX_FUNCTION_TIMEOUT.toSeconds()];
    if (ms % 1000 !== 0 || ms < min * 1000 || ms > max * 1000) {
      return `functionTimeout ${ms / 1000} seconds is not a Lambda timeout this handler takes (expected whole seconds from ${min} to ${max}: 1 to 15 minutes)`;
    }
    const seconds = ms / 1000;
    const previous = this.timeoutSetBy;
    if (previous !== undefined && previous.seconds !== seconds) {
      return (
        `functionTimeout ${seconds} seconds differs from the ${previous.seconds} seconds that '${previous.path}' gives: ` +
        "every deletion of a stack runs in the stack's one handler function (give both the same functionTimeout, or give it once)"
      );
    }
    this.timeoutSetBy ??= { path: deletionPath, seconds };
    (this.function.node.defaultChild as lambda.CfnFunction).timeout = seconds;
    return undefined;
  }

  /**
   * Counts a deletion's schedule, and warns when the stack has so many that
   * the function's resource-based policy nears its limit.
   */
  countSchedule(): void {
    this.schedules++;
    if (this.schedules === SCHEDULE_WARNING_THRESHOLD + 1) {
      Annotations.of(this).addWarningV2(
        'cdk-ecr-public-image-deletion:manySchedules',
        `this stack has more than ${SCHEDULE_WARNING_THRESHOLD} deletions on a schedule: each adds its rule's invoke permission ` +
          "to the handler function's resource-based policy, which Lambda limits to 20 KB (about 40 schedules)",
      );
    }
  }

  /**
   * The stack's reference cache and registry authentication, made on the
   * first deletion with a selection; a deletion that reads the registry must
   * depend on both (they outlive its Delete event).
   *
   * The cache is a DynamoDB table, on demand, deleted with the stack (it only
   * saves registry reads: an empty one costs reads, never safety), keyed by
   * manifest digest; the handler finds it by the REFERENCE_CACHE_TABLE
   * environment variable and may call BatchGetItem and BatchWriteItem on it,
   * and nothing else. No TTL: an entry never goes stale (a digest fixes its
   * bytes) and is a few hundred bytes, and expiring entries would make the
   * handler read every kept index again on the same day.
   */
  readsForSelections(): SelectionReads {
    if (this.selectionReads) return this.selectionReads;
    const table = new dynamodb.Table(this, 'ReferenceCache', {
      partitionKey: { name: 'Digest', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'The reference cache holds only facts re-derivable from the registry (what each manifest digest references): ' +
        'point-in-time recovery would bill backups of a cache whose loss costs registry reads, never data',
    });
    this.function.addEnvironment(REFERENCE_CACHE_TABLE_ENV, table.tableName);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'], resources: [table.tableArn] }),
    );
    const authentication = new iam.Policy(this, 'RegistryAuthentication', {
      policyName: 'ecr-public-registry-authentication',
      roles: [this.role],
      statements: [
        // Authenticated registry reads get ECR Public's authenticated pull quota (10/s per account) instead of the anonymous one (1/s per IP).
        new iam.PolicyStatement({ actions: ['ecr-public:GetAuthorizationToken', 'sts:GetServiceBearerToken'], resources: ['*'] }),
      ],
    });
    Validations.of(authentication).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken take no resource ARN (Service Authorization Reference: ' +
        'no resource types), so "*" is their only Resource; the token they give only pulls public images, which anyone may pull',
    });
    this.selectionReads = { table, authentication };
    return this.selectionReads;
  }

  /**
   * The policy that lets the handler delete images in one repository, shared
   * by every deletion in that repository; a deletion must depend on it.
   *
   * One policy per repository, not one statement each in a shared policy: when
   * a deletion is removed from a stack that keeps others, CloudFormation
   * updates a shared policy first and deletes the removed resource later, in
   * the cleanup phase, which would run its Delete without permission. A
   * policy of its own is removed in that same phase, after the resource.
   *
   * `nameAtSynth` is the literal name of a repository of the app that
   * `repositoryName` refers to by `Ref`: it is part of the key, so that a
   * renamed (replaced) repository gets a new policy, created before the
   * update's Update events, while the old one is deleted in the cleanup, after
   * the Delete that empties the old repository (aws-cdk #26711: a policy
   * updated in place to the new repository refused that Delete).
   */
  policyFor(repositoryName: string, registryId: string | undefined, needs: { readonly list: boolean }, nameAtSynth?: string): iam.Policy {
    const stack = Stack.of(this);
    // Keyed by the resolved values ({ Ref: ... } for a token), so the key and the
    // construct ID stay the same from one synth to the next.
    const key = JSON.stringify([
      stack.resolve(registryId ?? null),
      stack.resolve(repositoryName),
      ...(nameAtSynth !== undefined ? [nameAtSynth] : []),
    ]);
    const arn = `arn:${Aws.PARTITION}:ecr-public::${registryId ?? Aws.ACCOUNT_ID}:repository/${repositoryName}`;
    let policy = this.repositoryPolicies.get(key);
    if (!policy) {
      const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
      policy = new iam.Policy(this, `Repo${hash}`, {
        // Short and unique within the role: the generated name would repeat the construct path.
        policyName: `ecr-public-deletion-${hash}`,
        roles: [this.role],
        statements: [
          new iam.PolicyStatement({
            actions: ['ecr-public:BatchDeleteImage'],
            resources: [arn],
          }),
        ],
      });
      this.repositoryPolicies.set(key, policy);
      if (this.repositoryPolicies.size === REPOSITORY_POLICY_WARNING_THRESHOLD + 1) {
        Annotations.of(this).addWarningV2(
          'cdk-ecr-public-image-deletion:manyRepositories',
          `this stack deletes images in more than ${REPOSITORY_POLICY_WARNING_THRESHOLD} repositories: each adds an inline policy ` +
            "to the handler's role, and IAM allows 10,240 characters of inline policies per role (about 60 repositories)",
        );
      }
    }
    // Only a selection lists the repository, so only then may the handler read
    // it; DescribeRepositories gives the URI its index manifests are read from.
    if (needs.list && !this.listingGranted.has(key)) {
      policy.addStatements(new iam.PolicyStatement({ actions: ['ecr-public:DescribeImages', 'ecr-public:DescribeRepositories'], resources: [arn] }));
      this.listingGranted.add(key);
    }
    return policy;
  }
}
