import { Annotations, CfnResource, CustomResource, Duration, Lazy, Reference, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IDependable } from 'constructs';
import {
  ATTRIBUTES,
  DEFAULT_API_REGION,
  LifecycleEvent,
  RESOURCE_TYPE,
  SCHEDULED_EVENT_SOURCE,
  ScheduledEvent,
  WireImageId,
  WireProperties,
} from './contract';
import { EcrPublicImageDeletionProvider, SERVICE_TIMEOUT } from './provider';
import { arnAsNameProblem, warnIfNameOfStackRepository } from './repository-name';
import { ImageSelection } from './selection';
import { collapseDuplicates, propertiesProblems, scheduledPolicyProblem, unmatchableTagWarnings } from './validation';

/**
 * An image to delete, in the shape of the ECR Public API's `ImageIdentifier`
 * (and of the CLI's `--image-ids imageTag=…,imageDigest=…`).
 *
 * What each form deletes:
 *
 * - `{ imageTag }` removes that tag; the image itself is deleted only when it
 *   was its last tag.
 * - `{ imageDigest }` deletes the image and every tag it has.
 * - `{ imageTag, imageDigest }` names the image by both; ECR Public answers
 *   `ImageTagDoesNotMatchDigest` when the tag does not point at that digest.
 *
 * At least one of the two is required.
 */
export interface ImageIdentifier {
  /**
   * The tag to remove, 1 to 300 characters.
   *
   * @default - no tag: the image is identified by its digest alone
   */
  readonly imageTag?: string;

  /**
   * The image manifest's digest: `sha256:` followed by 64 lowercase hex characters.
   *
   * @default - no digest: the image is identified by its tag alone
   */
  readonly imageDigest?: string;
}

/** A stack lifecycle event during which the declared images are deleted. */
export enum DeletionEvent {
  /** When the resource is created: the first deployment that contains it. */
  CREATE = 'Create',
  /** When any of the resource's properties change in a deployment. */
  UPDATE = 'Update',
  /**
   * When the resource leaves the stack: removed, renamed or moved (a new
   * logical ID), removed by a rollback, or the stack is deleted. A selection
   * that starts from `allImages()` runs on Delete only when CloudFormation is
   * deleting the repository itself, replacements included (see
   * `emptyOnDelete`).
   */
  DELETE = 'Delete',
}

/** Properties of an `EcrPublicImageDeletion`. */
export interface EcrPublicImageDeletionProps {
  /**
   * Name of the ECR Public repository that holds the images: a literal name or
   * a token such as `CfnPublicRepository.ref`. A token that references a
   * repository of the same stack also orders the teardown: the images are
   * deleted before the repository.
   */
  readonly repositoryName: string;

  /**
   * The images to delete (1 to 10,000), by tag and/or digest. Exact repeats are
   * sent once (with a synth-time warning). Give `imageIds`, `select`, or both.
   *
   * @default - no image IDs: `select` says what to delete
   */
  readonly imageIds?: ImageIdentifier[];

  /**
   * Images to delete by rule, evaluated on the repository's listing when the
   * event runs (after `imageIds`, if both are given), and at every tick of
   * `schedule`. Image indexes the event keeps (multi-architecture images) keep
   * every image they reference: their manifests are read from the public
   * registry (HTTPS to the repository's registry host), paced below ECR
   * Public's pull quota (see `registryReadsPerSecond`). Adds
   * `ecr-public:DescribeImages` and `ecr-public:DescribeRepositories` on the
   * repository to the handler's permissions; the first selection of a stack
   * also adds the stack's reference cache (a DynamoDB table, on demand,
   * deleted with the stack) with `dynamodb:BatchGetItem` and
   * `dynamodb:BatchWriteItem` on it, and `ecr-public:GetAuthorizationToken`
   * and `sts:GetServiceBearerToken` (which take no resource ARN) for
   * authenticated registry reads.
   * On Delete, a selection that starts from `allImages()` empties the
   * repository only when CloudFormation is deleting it (as `emptyOnDelete`).
   * An image without a push time counts as the newest under `olderThan` and
   * `keepNewest`.
   *
   * @default - no selection: only `imageIds` are deleted
   */
  readonly select?: ImageSelection;

  /**
   * Also run `select` on this schedule, between deployments: what a lifecycle
   * policy does for a private ECR repository. Every tick invokes the stack's
   * handler function once, through an EventBridge rule that alone may invoke
   * it, and deletes what the selection matches at that moment. A tick honours
   * `dryRun` and `failOnImageFailure`, and ignores `deleteOn` (a tick is not a
   * lifecycle event); declared `imageIds` are not deleted again (they go at
   * deployments). A failed run fails the invocation, which shows in the
   * function's `Errors` metric, and its log line says why. Requires `select`.
   *
   * @default - no schedule: deletions run only during deployments
   */
  readonly schedule?: events.Schedule;

  /**
   * Compute and report what would be deleted, and delete nothing: the
   * attributes and the function log then list the images that would go.
   *
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * The AWS account ID (12 digits) of the public registry that holds the repository.
   *
   * @default - the registry of the account the stack is deployed to
   */
  readonly registryId?: string;

  /**
   * The lifecycle events during which the images are deleted. An event not
   * listed does nothing.
   *
   * @default [DeletionEvent.CREATE, DeletionEvent.UPDATE, DeletionEvent.DELETE]
   */
  readonly deleteOn?: DeletionEvent[];

  /**
   * Whether a per-image failure other than `ImageNotFound` (for example
   * `ImageReferencedByManifestList` or `ImageTagDoesNotMatchDigest`) fails the
   * deployment. With `false` such failures are only reported in
   * `EcrPublicImageDeletion.failuresJson`. `ImageNotFound` never fails it:
   * the image is already gone.
   *
   * @default true
   */
  readonly failOnImageFailure?: boolean;

  /**
   * The region whose ECR Public API endpoint the handler calls, whatever region
   * the stack is in. ECR Public's API is served in `us-east-1` and `us-west-2`.
   *
   * @default 'us-east-1'
   */
  readonly apiRegion?: string;

  /**
   * A value whose change makes the deletion run again at the next deployment.
   * CloudFormation sends an Update only when a resource's properties change:
   * deploying the same template again sends no event, and deletes nothing.
   * Give a value that identifies the deployment (a commit SHA, a build
   * number): each deployment that brings a new value sends an Update, and
   * `cdk diff` shows the change. To run between deployments, use `schedule`.
   * Needs `DeletionEvent.UPDATE` in `deleteOn`.
   *
   * @default - none: an Update is sent only when another property changes
   */
  readonly updateTrigger?: string;

  /**
   * How long the handler's log group keeps the log lines of events and
   * scheduled runs (for a scheduled run, the only record of what it
   * deleted). One log group serves every deletion of the stack: deletions
   * that give different values are an error; a deletion that gives none
   * takes the value another one gives.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Most manifest reads per second that `select` makes from the public
   * registry when its reads are authenticated, from 0.1 to 100. ECR Public
   * limits authenticated pulls to 10 per second per account (adjustable, and
   * shared with every other pull the account makes) and anonymous ones to 1
   * per second per IP address: raise this after raising the account's quota,
   * lower it to leave more to the account's own pulls. Anonymous reads (when
   * GetAuthorizationToken is refused) never exceed 0.9 per second. Requires
   * `select`.
   *
   * @default 5 - half of the authenticated quota
   */
  readonly registryReadsPerSecond?: number;

  /**
   * The timeout of the stack's handler function, from 1 to 15 minutes. A
   * scheduled tick reads the registry until a minute before it ends (what it
   * cannot read in one tick, the next one reads, from the reference cache): a
   * repository with thousands of image indexes to read gets through its first
   * pass in fewer ticks with a longer timeout (docs/registry-quotas-and-cache.md
   * says how to size it). A deployment reads in the first half of the time
   * and deletes in the second. One function serves every deletion of the
   * stack: deletions that give different values are an error; a deletion that
   * gives none takes the value another one gives.
   *
   * @default Duration.minutes(5)
   */
  readonly functionTimeout?: Duration;
}

/**
 * Deletes declared images from an Amazon ECR Public repository when the stack
 * is created, updated or deleted, through a custom resource that calls
 * `BatchDeleteImage`. The deleted image IDs and the failures are readable as
 * attributes. With `select` and `schedule`, the selection also runs between
 * deployments, like a lifecycle policy.
 *
 * All deletions in a stack share one Lambda function; each grants it
 * `ecr-public:BatchDeleteImage` on its own repository only.
 *
 * @example
 * import { CfnOutput } from 'aws-cdk-lib';
 * import * as ecr from 'aws-cdk-lib/aws-ecr';
 *
 * const repo = new ecr.CfnPublicRepository(this, 'Repo', { repositoryName: 'my-app' });
 *
 * const prImages = new EcrPublicImageDeletion(this, 'PrImages', {
 *   repositoryName: repo.ref,
 *   imageIds: [{ imageTag: 'pr-42' }, { imageTag: 'pr-42-debug' }],
 *   deleteOn: [DeletionEvent.DELETE],
 * });
 * new CfnOutput(this, 'DeletedImages', { value: prImages.deletedImageIdsJson });
 */
export class EcrPublicImageDeletion extends Construct {
  /**
   * Empties a public repository of the stack when CloudFormation deletes the
   * repository, so that the deletion of the repository can succeed
   * (`AWS::ECR::PublicRepository` has no EmptyOnDelete). Every image goes,
   * image indexes first; the deletion references the repository, so
   * CloudFormation runs it before deleting the repository.
   *
   * Emptying happens only when the handler, reading the stack's state
   * (DescribeStacks; during an update's cleanup, GetTemplate and
   * ListStackResources too), finds that CloudFormation is deleting the
   * repository itself: the stack is being deleted (or its creation rolled
   * back), an update removed the repository from the template, or replaced it
   * (a new `repositoryName`: the old repository is emptied in the update's
   * cleanup, once the update has succeeded; if it rolls back, the new one is);
   * and the policy that applies lets it go (DeletionPolicy, or
   * UpdateReplacePolicy for a replacement). Removing, renaming or moving this
   * deletion, or a rollback that removes it, leaves every image in place, as
   * does a stack state that cannot be read. See docs/teardown.md.
   *
   * @param scope the construct to add the deletion to
   * @param id the construct ID, unique within `scope`
   * @param repository the repository to empty
   */
  public static emptyOnDelete(scope: Construct, id: string, repository: ecr.CfnPublicRepository): EcrPublicImageDeletion {
    return new EcrPublicImageDeletion(scope, id, {
      repositoryName: repository.ref,
      select: ImageSelection.allImages(),
      deleteOn: [DeletionEvent.DELETE],
    });
  }

  /**
   * JSON text of the image IDs that ECR Public reported deleted during the last
   * event that ran a deletion (the API's `imageIds` list, e.g.
   * `[{"imageDigest":"sha256:…","imageTag":"pr-42"}]`). Cut to fit the
   * 4,096-byte response limit when long: see `truncated`.
   */
  readonly deletedImageIdsJson: string;

  /**
   * JSON text of the per-image failures of that event (the API's `failures`
   * list: `imageId`, `failureCode`, `failureReason`), `ImageNotFound` included.
   * Cut like `deletedImageIdsJson`.
   */
  readonly failuresJson: string;

  /** Exact number of image IDs reported deleted, never cut. */
  readonly deletedCount: number;

  /** Exact number of per-image failures, `ImageNotFound` included, never cut. */
  readonly failureCount: number;

  /**
   * `"true"` when `deletedImageIdsJson` or `failuresJson` was cut to
   * fit CloudFormation's response limit, `"false"` otherwise.
   */
  readonly truncated: string;

  /**
   * `"true"` when the event called ECR Public, `"false"` when `deleteOn` left
   * it out (then both lists are empty).
   */
  readonly deletionRan: string;

  /**
   * Exact number of images the selection covered but kept during the last
   * event, because an image index that the event kept references them (the
   * platform images and attestations of a kept multi-architecture image).
   * `0` without a selection.
   */
  readonly keptReferencedCount: number;

  /**
   * Exact number of images the selection covered but kept during the last
   * event, because a manifest could not be read from the registry: that of an
   * image index (what it references is unknown, so nothing it might reference
   * was deleted), or that of an untagged image (whether it is a signature or
   * SBOM of a kept image is unknown). The function log says why. `0` when
   * every needed manifest was read.
   */
  readonly keptUnknownCount: number;

  /**
   * Exact number of images the selection covered but kept during the last
   * event, because they are OCI 1.1 referrers (cosign or notation signatures,
   * SBOMs, attestations: untagged manifests whose `subject` names another
   * image) of an image that stays. `0` without a selection.
   */
  readonly keptReferrerCount: number;

  /**
   * Exact number of tags the selection would have removed during the last
   * event but kept, because a push moved them to another image between the
   * listing and the deletion: the image just pushed keeps its tag. `0`
   * without a selection.
   */
  readonly keptMovedCount: number;

  /**
   * `"true"` when the event ran as a dry run (`dryRun: true`): nothing was
   * deleted, and `deletedImageIdsJson` and `deletedCount` describe what would
   * have been. `"false"` otherwise.
   */
  readonly dryRun: string;

  /**
   * Exact number of declared image IDs (`imageIds`) that ECR Public did not
   * find (`ImageNotFound`): already gone, or never there, such as a mistyped
   * tag. They do not fail the event; the function log names them. An image a
   * selection chose that was gone by the time it was deleted is a failure
   * (`failureCount`), not counted here.
   */
  readonly notFoundCount: number;

  /**
   * JSON text: for each rule of the selection, by priority, how many images it
   * expired during the last event (in a dry run: would have), as
   * `get-lifecycle-policy-preview` counts them per rule, e.g. `{"1":2,"2":0,"3":1}`.
   * An image as users see it counts once: an image index with its platform
   * images, attestations and signatures. Every rule of a lifecycle policy is
   * listed; an `ImageSelection` is one rule, priority 1. `{}` without a
   * selection. The function log names each image with its rule.
   */
  readonly ruleCountsJson: string;

  /** The underlying CloudFormation custom resource, for dependencies. */
  readonly resource: CustomResource;

  /**
   * The EventBridge rule that runs the selection on `schedule`, or `undefined` without a schedule.
   */
  readonly scheduleRule?: events.IRule;

  /**
   * The Lambda function that runs this deletion, shared by every
   * `EcrPublicImageDeletion` of the stack. A scheduled run that fails fails
   * its invocation, so its `metricErrors()` counts failed ticks.
   */
  readonly handlerFunction: lambda.IFunction;

  /**
   * The handler function's log group, shared by every deletion of the stack:
   * one JSON line per event and per scheduled run (what went, what was kept,
   * and why). Its retention is `logRetention`.
   */
  readonly logGroup: logs.ILogGroup;

  /**
   * @param scope the construct to add this deletion to (its stack gets the shared handler)
   * @param id the construct ID, unique within `scope`
   * @param props the repository, the images and when to delete them
   * @throws when a property known at synth time breaks a rule; the message lists every problem
   */
  constructor(scope: Construct, id: string, props: EcrPublicImageDeletionProps) {
    super(scope, id);

    const repository = repositoryInStack(this, props.repositoryName);
    const properties = this.toWireProperties(props, repository);
    const problems = propertiesProblems(properties, (value) => Token.isUnresolved(value));
    if (props.schedule !== undefined && props.select === undefined) {
      problems.push(
        'schedule is given without select: a schedule runs a selection on the images of the moment, ' +
          'and declared imageIds are deleted at deployments only (give select, or remove schedule)',
      );
    }
    if (props.schedule !== undefined && properties.Select?.Match === 'lifecycle') {
      const problem = scheduledPolicyProblem(properties.Select.LifecyclePolicyText, (value) => Token.isUnresolved(value));
      if (problem !== undefined) problems.push(problem);
    }
    const arn = arnAsNameProblem(props.repositoryName);
    if (arn !== undefined) problems.push(arn);
    const provider = EcrPublicImageDeletionProvider.of(this);
    if (props.logRetention !== undefined) {
      const retention = provider.useLogRetention(this.node.path, props.logRetention);
      if (retention !== undefined) problems.push(retention);
    }
    if (props.functionTimeout !== undefined) {
      const timeout = provider.useTimeout(this.node.path, props.functionTimeout);
      if (timeout !== undefined) problems.push(timeout);
    }
    if (problems.length > 0) {
      throw new Error(`EcrPublicImageDeletion '${this.node.path}' has invalid properties:\n` + problems.map((p) => `  - ${p}`).join('\n'));
    }
    warnIfNameOfStackRepository(this, props.repositoryName);
    this.handlerFunction = provider.function;
    this.logGroup = provider.logGroup;

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.function.functionArn,
      serviceTimeout: SERVICE_TIMEOUT,
      resourceType: RESOURCE_TYPE,
      properties: properties as unknown as { [key: string]: unknown },
    });
    // The permissions must outlive the resource: CloudFormation deletes this
    // resource (and runs its Delete event) before the policies it depends on.
    // A repository of the app with a literal name: the name is part of the policy's key, so that renaming the
    // repository gives it a new policy and the old one lasts until the cleanup that empties the old repository.
    const policy = provider.policyFor(props.repositoryName, props.registryId, { list: props.select !== undefined }, repository?.nameAtConstruction);
    this.resource.node.addDependency(provider.role, policy);
    const reads = props.select !== undefined ? provider.readsForSelections() : undefined;
    if (reads) this.resource.node.addDependency(reads.table, reads.authentication);
    if (props.schedule !== undefined) {
      this.scheduleRule = this.scheduleSelection(
        props.schedule,
        properties,
        provider,
        reads ? [policy, reads.table, reads.authentication] : [policy],
      );
    }

    this.deletedImageIdsJson = this.resource.getAttString(ATTRIBUTES.IMAGE_IDS);
    this.failuresJson = this.resource.getAttString(ATTRIBUTES.FAILURES);
    this.deletedCount = Token.asNumber(this.resource.getAtt(ATTRIBUTES.DELETED_COUNT));
    this.failureCount = Token.asNumber(this.resource.getAtt(ATTRIBUTES.FAILURE_COUNT));
    this.truncated = this.resource.getAttString(ATTRIBUTES.TRUNCATED);
    this.deletionRan = this.resource.getAttString(ATTRIBUTES.DELETION_RAN);
    this.keptReferencedCount = Token.asNumber(this.resource.getAtt(ATTRIBUTES.KEPT_REFERENCED_COUNT));
    this.keptUnknownCount = Token.asNumber(this.resource.getAtt(ATTRIBUTES.KEPT_UNKNOWN_COUNT));
    this.keptReferrerCount = Token.asNumber(this.resource.getAtt(ATTRIBUTES.KEPT_REFERRER_COUNT));
    this.keptMovedCount = Token.asNumber(this.resource.getAtt(ATTRIBUTES.KEPT_MOVED_COUNT));
    this.dryRun = this.resource.getAttString(ATTRIBUTES.DRY_RUN);
    this.notFoundCount = Token.asNumber(this.resource.getAtt(ATTRIBUTES.NOT_FOUND_COUNT));
    this.ruleCountsJson = this.resource.getAttString(ATTRIBUTES.RULE_COUNTS);

    for (const warning of unmatchableTagWarnings(properties, (value) => Token.isUnresolved(value))) {
      Annotations.of(this).addWarningV2('cdk-ecr-public-image-deletion:tagCanNeverExist', warning);
    }
    // At synthesis, when the repository's removal policy is final.
    this.node.addValidation({
      validate: () => {
        this.warnIfRepositoryIsRetained(properties, repository);
        return [];
      },
    });
  }

  /**
   * Warns when a deletion that runs on the stack's deletion meets a repository
   * of the app that outlives the stack (RemovalPolicy.RETAIN). Untagged
   * images and digests would go from a repository that is kept; an
   * `allImages()` selection (emptyOnDelete) would do nothing, since the
   * handler empties a repository only when CloudFormation deletes it.
   */
  private warnIfRepositoryIsRetained(properties: WireProperties, repository: RepositoryOfStack | undefined): void {
    if (properties.DryRun === 'true' || !properties.DeleteOn.includes('Delete')) return;
    const whole: string[] = [];
    if (properties.Select?.Match === 'untagged') whole.push('untagged images (untaggedImages())');
    if (properties.Select?.Match === 'lifecycle') whole.push('the images its lifecycle policy expires');
    if (properties.ImageIds?.some((id) => id.imageDigest !== undefined)) whole.push('images declared by digest');
    const empties = properties.Select?.Match === 'all';
    if ((whole.length === 0 && !empties) || repository === undefined) return;
    // As synthesized: a policy set by applyRemovalPolicy, cfnOptions or addOverride, whenever it was set.
    const policy = repository.synthesized().deletionPolicy ?? 'Delete';
    if (policy === 'Delete') return;
    const kept = `its repository '${repository.resource.node.path}' is kept (DeletionPolicy ${typeof policy === 'string' ? policy : JSON.stringify(policy)})`;
    const messages: string[] = [];
    if (whole.length > 0) {
      messages.push(
        `EcrPublicImageDeletion '${this.node.path}' deletes ${whole.join(' and ')} when the stack is deleted, but ${kept}: ` +
          'deleting the stack would delete whole images from a repository that outlives it. ' +
          'Leave DeletionEvent.DELETE out of deleteOn, or let the repository go with the stack (RemovalPolicy.DESTROY).',
      );
    }
    if (empties) {
      messages.push(
        `EcrPublicImageDeletion '${this.node.path}' empties its repository (allImages()) when CloudFormation deletes the repository, but ${kept}: ` +
          "the stack's deletion keeps the repository, and so every image in it. " +
          'Let the repository go with the stack (RemovalPolicy.DESTROY), or remove this deletion.',
      );
    }
    for (const message of messages) {
      Annotations.of(this).addWarningV2('cdk-ecr-public-image-deletion:deletesFromRetainedRepository', message);
    }
  }

  /**
   * The rule that sends this deletion's properties to the shared handler on
   * every tick. Its target lets this rule, and no other, invoke the function.
   */
  private scheduleSelection(
    schedule: events.Schedule,
    properties: WireProperties,
    provider: EcrPublicImageDeletionProvider,
    permissions: IDependable[],
  ): events.Rule {
    const {
      ImageIds: _deletedAtDeployments,
      UpdateTrigger: _trigger,
      RepositoryLogicalId: _id,
      RepositoryDeletionPolicy: _policy,
      RepositoryUpdateReplacePolicy: _replacePolicy,
      ...selectionProperties
    } = properties;
    const event: ScheduledEvent = {
      Source: SCHEDULED_EVENT_SOURCE,
      LogicalResourceId: (this.resource.node.defaultChild as CfnResource).logicalId,
      ResourceProperties: selectionProperties,
    };
    const rule = new events.Rule(this, 'Schedule', {
      schedule,
      description: `Runs the image selection of ${this.node.path} (cdk-ecr-public-image-deletion)`.slice(0, 512),
      targets: [new targets.LambdaFunction(provider.function, { event: events.RuleTargetInput.fromObject(event) })],
    });
    // Created after the repository's permissions and the selection's reads, and
    // deleted before them, so that no tick runs without them.
    rule.node.addDependency(...permissions);
    provider.countSchedule();
    return rule;
  }

  /**
   * The properties as the handler reads them. Values are passed on as given
   * (validation reports what is wrong); only exact repeats are collapsed.
   */
  private toWireProperties(props: EcrPublicImageDeletionProps, repository: RepositoryOfStack | undefined): WireProperties {
    let imageIds = props.imageIds as WireImageId[];
    if (Array.isArray(props.imageIds)) {
      const { unique, duplicates } = collapseDuplicates(props.imageIds.map((id) => ({ ...id })));
      for (const { index, firstIndex } of duplicates) {
        Annotations.of(this).addWarningV2(
          'cdk-ecr-public-image-deletion:duplicateImageId',
          `imageIds[${index}] repeats imageIds[${firstIndex}]; it is sent once`,
        );
      }
      imageIds = unique;
    }
    let deleteOn = (props.deleteOn ?? [DeletionEvent.CREATE, DeletionEvent.UPDATE, DeletionEvent.DELETE]) as string[];
    if (Array.isArray(deleteOn)) {
      deleteOn = [...new Set(deleteOn)];
    }
    return {
      RepositoryName: props.repositoryName,
      ...(props.registryId !== undefined ? { RegistryId: props.registryId } : {}),
      ...(imageIds !== undefined ? { ImageIds: imageIds } : {}),
      ...(props.select !== undefined ? { Select: props.select._toWire() } : {}),
      DeleteOn: deleteOn as LifecycleEvent[],
      FailOnImageFailure: props.failOnImageFailure === false ? 'false' : 'true',
      DryRun: props.dryRun === true ? 'true' : 'false',
      ApiRegion: props.apiRegion ?? DEFAULT_API_REGION,
      ...(props.updateTrigger !== undefined ? { UpdateTrigger: props.updateTrigger } : {}),
      ...(props.registryReadsPerSecond !== undefined ? { RegistryReadsPerSecond: numberOnTheWire(props.registryReadsPerSecond) } : {}),
      ...(props.select?._toWire().Match === 'all' && repository !== undefined ? repositoryProperties(repository) : {}),
    };
  }
}

/** A repository of the same stack that a deletion's `repositoryName` refers to. */
interface RepositoryOfStack {
  readonly resource: CfnResource;
  /** Its RepositoryName as synthesized when the deletion was built, when it is a literal. */
  readonly nameAtConstruction?: string;
  /** What CloudFormation will see of it, rendered when called (escape hatches included). */
  synthesized(): SynthesizedRepository;
}

/** A repository's removal policies and name as its template will hold them (intrinsics left as they are). */
interface SynthesizedRepository {
  readonly deletionPolicy?: unknown;
  readonly updateReplacePolicy?: unknown;
  readonly repositoryName?: unknown;
}

/**
 * The repository that a deletion's `repositoryName` refers to, when it is a
 * `Ref` to an `AWS::ECR::PublicRepository` of the deletion's own stack. A
 * repository of another stack (a cross-stack reference) or of a nested stack
 * is a name only: its logical ID means nothing in this stack's template.
 */
function repositoryInStack(scope: Construct, repositoryName: string): RepositoryOfStack | undefined {
  const resource = repositoryOf(repositoryName);
  if (resource === undefined || Stack.of(resource) !== Stack.of(scope)) return undefined;
  const synthesized = (): SynthesizedRepository => {
    // _toCloudFormation renders the resource as the template will hold it: cfnOptions and addOverride applied.
    const rendered = Stack.of(resource).resolve(resource._toCloudFormation()) as { Resources?: Record<string, Record<string, unknown>> };
    const definition = Object.values(rendered.Resources ?? {})[0] ?? {};
    return {
      deletionPolicy: definition.DeletionPolicy,
      updateReplacePolicy: definition.UpdateReplacePolicy,
      repositoryName: (definition.Properties as Record<string, unknown> | undefined)?.RepositoryName,
    };
  };
  let name: unknown;
  try {
    name = synthesized().repositoryName;
  } catch {
    // A property that cannot be resolved yet: the name is not known now, and the policy is keyed by the Ref alone.
  }
  return { resource, synthesized, nameAtConstruction: typeof name === 'string' ? name : undefined };
}

/**
 * The repository's logical ID and removal policies, resolved at synth time,
 * after the app has set them (by applyRemovalPolicy, cfnOptions or an escape
 * hatch: the values CloudFormation will apply). With them, the handler's
 * Delete guard tells "the repository is being deleted" from "only this
 * deletion leaves the stack"; without them (a name), it empties only when the
 * stack itself is deleted. A policy given by an intrinsic (a parameter) is
 * passed as such, and CloudFormation resolves it.
 */
function repositoryProperties(
  repository: RepositoryOfStack,
): Pick<WireProperties, 'RepositoryLogicalId' | 'RepositoryDeletionPolicy' | 'RepositoryUpdateReplacePolicy'> {
  const stack = Stack.of(repository.resource);
  const policy = (which: 'deletionPolicy' | 'updateReplacePolicy') =>
    Token.asString(Lazy.any({ produce: () => repository.synthesized()[which] ?? 'Delete' }));
  return {
    RepositoryLogicalId: Lazy.string({ produce: () => stack.resolve(repository.resource.logicalId) as string }),
    RepositoryDeletionPolicy: policy('deletionPolicy'),
    RepositoryUpdateReplacePolicy: policy('updateReplacePolicy'),
  };
}

/** A number as the wire carries it: a decimal string, or the token's string form when it is resolved at deploy time. */
function numberOnTheWire(value: number): string {
  return Token.isUnresolved(value) ? Tokenization.stringifyNumber(value) : String(value);
}

/** The AWS::ECR::PublicRepository that a repository name refers to (its `ref`), if it is one of the app's. */
function repositoryOf(repositoryName: string): CfnResource | undefined {
  if (!Token.isUnresolved(repositoryName)) return undefined;
  // The name is the repository's `ref` alone, not a string built around it.
  const fragments = Tokenization.reverseString(repositoryName);
  const token = fragments.length === 1 ? fragments.firstToken : undefined;
  const target = Reference.isReference(token) ? token.target : undefined;
  return CfnResource.isCfnResource(target) && target.cfnResourceType === 'AWS::ECR::PublicRepository' ? target : undefined;
}
