/**
 * The contract between the construct (synth time) and the handler (run time).
 *
 * This file is imported by both sides, so it must import neither `aws-cdk-lib`
 * nor `constructs`: the handler bundle stays small and its cold start fast.
 */

/** CloudFormation resource type of the custom resource. */
export const RESOURCE_TYPE = 'Custom::EcrPublicImageDeletion';

/**
 * Region the ECR Public API is called in when none is given. The API is served
 * only in us-east-1 and us-west-2, whatever region the stack is deployed in.
 */
export const DEFAULT_API_REGION = 'us-east-1';

/** Regions that serve the ECR Public API (botocore's endpoint model, 2026). */
export const API_REGIONS: readonly string[] = ['us-east-1', 'us-west-2'];

/** Lifecycle event names, as CloudFormation spells them in `RequestType`. */
export type LifecycleEvent = 'Create' | 'Update' | 'Delete';
export const LIFECYCLE_EVENTS: readonly LifecycleEvent[] = ['Create', 'Update', 'Delete'];

/** What started a run of the handler: a CloudFormation event, or a tick of the deletion's schedule. */
export type RunTrigger = LifecycleEvent | 'Scheduled';

/** `Source` of the events a deletion's schedule sends; CloudFormation's events have no `Source`. */
export const SCHEDULED_EVENT_SOURCE = 'cdk-ecr-public-image-deletion.schedule';

/**
 * The event a deletion's EventBridge rule sends to the handler on every tick
 * (the rule target's fixed input). Unlike CloudFormation's events it has no
 * ResponseURL: nobody waits for an answer, so a failed run is reported by
 * failing the invocation.
 */
export interface ScheduledEvent {
  readonly Source: typeof SCHEDULED_EVENT_SOURCE;
  /** Logical ID of the deletion's custom resource, so that its scheduled runs and its CloudFormation events share a name in the log. */
  readonly LogicalResourceId: string;
  /**
   * The custom resource's properties, checked with the same rules. ImageIds
   * are left out: declared image IDs go at deployments, a schedule runs the
   * selection (and a target input is limited to 8,192 characters).
   */
  readonly ResourceProperties: WireProperties;
}

/** One image reference, in the shape of the ECR Public API's `ImageIdentifier`. */
export interface WireImageId {
  readonly imageTag?: string;
  readonly imageDigest?: string;
}

/**
 * The custom resource's properties, as the construct writes them and the handler
 * reads them. CloudFormation hands every scalar to the handler as a string,
 * so booleans travel as 'true' / 'false'.
 */
export interface WireProperties {
  readonly RepositoryName: string;
  /** Absent: the registry of the account that runs the handler. */
  readonly RegistryId?: string;
  /** Absent when only a selection is given. */
  readonly ImageIds?: WireImageId[];
  /** Absent when only image IDs are given. */
  readonly Select?: WireSelection;
  readonly DeleteOn: LifecycleEvent[];
  readonly FailOnImageFailure: 'true' | 'false';
  /** Absent means 'false' (resources created before dry runs existed). */
  readonly DryRun?: 'true' | 'false';
  readonly ApiRegion: string;
  /**
   * Any text: its only effect is that a new value makes CloudFormation send
   * an Update. The handler reads nothing from it; a schedule does not send it.
   */
  readonly UpdateTrigger?: string;
  /**
   * Logical ID of the repository in this stack, when the construct knows it
   * (a `Ref` to an `AWS::ECR::PublicRepository` of the same stack). With it, a
   * Delete empties the repository when the repository leaves the template too;
   * without it, only when the stack itself is deleted.
   */
  readonly RepositoryLogicalId?: string;
  /**
   * The repository's DeletionPolicy in the synthesized template (escape hatches
   * included), when RepositoryLogicalId is given; absent means Delete.
   */
  readonly RepositoryDeletionPolicy?: string;
  /**
   * The repository's UpdateReplacePolicy in the synthesized template, when
   * RepositoryLogicalId is given; absent (resources written by versions that did
   * not pass it): the stack's template decides.
   */
  readonly RepositoryUpdateReplacePolicy?: string;
  /**
   * Most registry reads (manifest GETs) per second when the reads are
   * authenticated, as a decimal number; absent means DEFAULT_REGISTRY_READS_PER_SECOND.
   * Anonymous reads never exceed ANONYMOUS_REGISTRY_READS_PER_SECOND.
   */
  readonly RegistryReadsPerSecond?: string;
}

/**
 * Registry reads per second by default, when authenticated: half of ECR
 * Public's authenticated pull quota (10 per second per account, adjustable:
 * docs.aws.amazon.com/AmazonECR/latest/public/public-service-quotas.html),
 * which every other authenticated pull of the account shares. The other half
 * is the headroom left for the account's own pulls (CI, deployments).
 */
export const DEFAULT_REGISTRY_READS_PER_SECOND = 5;

/**
 * Registry reads per second at most when anonymous: nine tenths of ECR
 * Public's unauthenticated pull quota (1 per second per IP, not adjustable).
 * Paced at the quota itself, the network's jitter alone brings some reads in
 * early, and the quota answers them 429 (bench/RESULTS.md, section 6).
 */
export const ANONYMOUS_REGISTRY_READS_PER_SECOND = 0.9;

/** The rate a user may set: from one read every 10 seconds to 100 per second (ten times the default quota, once raised). */
export const MIN_REGISTRY_READS_PER_SECOND = 0.1;
export const MAX_REGISTRY_READS_PER_SECOND = 100;

/** Environment variable of the handler function: the name of the stack's reference cache (a DynamoDB table). */
export const REFERENCE_CACHE_TABLE_ENV = 'REFERENCE_CACHE_TABLE';

/** DeletionPolicy values of a CloudFormation resource. */
export const DELETION_POLICIES: readonly string[] = ['Delete', 'Retain', 'Snapshot', 'RetainExceptOnCreate'];

/** UpdateReplacePolicy values of a CloudFormation resource. */
export const UPDATE_REPLACE_POLICIES: readonly string[] = ['Delete', 'Retain', 'Snapshot'];

/** What a selection starts from; 'lifecycle' is a lifecycle policy in private ECR's rule language. */
export type SelectionMatch = 'all' | 'untagged' | 'tagged' | 'lifecycle';
export const SELECTION_MATCHES: readonly SelectionMatch[] = ['all', 'untagged', 'tagged', 'lifecycle'];

/**
 * A rule that selects images from the repository's listing. Every condition
 * given must hold. Numbers travel as strings, as CloudFormation passes them.
 */
export interface WireSelection {
  readonly Match: SelectionMatch;
  /** With Match 'tagged': glob patterns (`*`, `?`) a tag must match; those tags are removed. */
  readonly TagPatterns?: string[];
  /** Only images pushed more than this many seconds before the event. */
  readonly OlderThanSeconds?: string;
  /** Of the images that match, the newest N (by push time) are kept. */
  readonly KeepNewest?: string;
  /** Glob patterns: an image with a matching tag is never deleted, nor is that tag. */
  readonly ProtectTags?: string[];
  /**
   * With Match 'lifecycle' (and no other field): the policy, as the JSON text
   * `aws ecr put-lifecycle-policy` takes, without whitespace. It travels as
   * one string, so its numbers stay JSON numbers whether CloudFormation or
   * the schedule's EventBridge rule delivers it. See LifecyclePolicyDocument.
   */
  readonly LifecyclePolicyText?: string;
}

/**
 * A lifecycle policy of private ECR, as far as ECR Public can honour it: the
 * JSON document of `aws ecr put-lifecycle-policy`, once lib/validation.ts
 * (lifecyclePolicyProblems) has accepted it. Fields and meanings: "Lifecycle
 * policy properties in Amazon ECR",
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
 */
export interface LifecyclePolicyDocument {
  readonly rules: readonly LifecyclePolicyRule[];
}

/** One rule of a lifecycle policy (the rules ECR Public can honour: `expire` on the standard storage class). */
export interface LifecyclePolicyRule {
  /** Unique in the policy; the lower, the earlier the rule applies. */
  readonly rulePriority: number;
  readonly description?: string;
  readonly selection: {
    readonly tagStatus: LifecycleTagStatus;
    /** With 'tagged': an image is selected when each prefix begins one of its tags. */
    readonly tagPrefixList?: readonly string[];
    /** With 'tagged': an image is selected when each pattern (`*` any run of characters) matches one of its tags. */
    readonly tagPatternList?: readonly string[];
    /** 'standard' is the only class ECR Public has (and what private ECR assumes when it is absent). */
    readonly storageClass?: 'standard';
    readonly countType: LifecycleCountType;
    /** 'days', with sinceImagePushed only. */
    readonly countUnit?: 'days';
    /** imageCountMoreThan: how many images the rule keeps; sinceImagePushed: the age in days past which it expires them. */
    readonly countNumber: number;
  };
  readonly action: { readonly type: 'expire' };
}

export type LifecycleTagStatus = 'tagged' | 'untagged' | 'any';
export const LIFECYCLE_TAG_STATUSES: readonly LifecycleTagStatus[] = ['tagged', 'untagged', 'any'];
export type LifecycleCountType = 'imageCountMoreThan' | 'sinceImagePushed';
export const LIFECYCLE_COUNT_TYPES: readonly LifecycleCountType[] = ['imageCountMoreThan', 'sinceImagePushed'];

/** Most rules a lifecycle policy holds (Amazon ECR service quotas, "Rules per lifecycle policy": 50, not adjustable). */
export const LIFECYCLE_MAX_RULES = 50;

/**
 * Longest lifecycle policy text (PutLifecyclePolicy, lifecyclePolicyText:
 * 100 to 30,720 characters; service quotas, "Lifecycle policy length").
 */
export const LIFECYCLE_POLICY_MAX_CHARS = 30_720;

/** Most `*` wildcards in one entry of a tagPatternList ("Lifecycle policy properties in Amazon ECR"). */
export const LIFECYCLE_PATTERN_MAX_WILDCARDS = 4;

/** Longest input of an EventBridge rule's target (EventBridge API, Target.Input: at most 8,192 characters). */
export const SCHEDULE_INPUT_MAX_CHARS = 8_192;

/**
 * Most characters a lifecycle policy may take in the event of a deletion's
 * schedule: its compact JSON text with each `"` and `\` escaped, as it sits
 * inside the event's JSON. The rest of the event (source, logical ID,
 * repository name and registry, events, flags, region) takes under 700
 * characters at the longest values each field allows; 1,024 are kept for it.
 */
export const SCHEDULED_POLICY_MAX_CHARS = SCHEDULE_INPUT_MAX_CHARS - 1_024;

/** A day of a lifecycle rule's `sinceImagePushed`: 24 hours before the moment the rule is evaluated, not a calendar day. */
export const LIFECYCLE_DAY_MS = 86_400_000;

/** Names of the attributes the handler returns in the response's `Data`. */
export const ATTRIBUTES = {
  /** JSON text: the `imageIds` the API reported deleted (possibly cut, see `Truncated`). */
  IMAGE_IDS: 'ImageIds',
  /** JSON text: the API's `failures` list (possibly cut, see `Truncated`). */
  FAILURES: 'Failures',
  /** Exact number of image IDs the API reported deleted. */
  DELETED_COUNT: 'DeletedCount',
  /** Exact number of failures, `ImageNotFound` included. */
  FAILURE_COUNT: 'FailureCount',
  /** 'true' when `ImageIds` or `Failures` was cut to fit the response limit. */
  TRUNCATED: 'Truncated',
  /** 'true' when this event called the API; 'false' when `deleteOn` excluded it. */
  DELETION_RAN: 'DeletionRan',
  /** 'true' when nothing was deleted because of `dryRun`: `ImageIds` then lists what would have been. */
  DRY_RUN: 'DryRun',
  /** Exact number of images the selection covered but kept because an image index this event keeps references them. */
  KEPT_REFERENCED_COUNT: 'KeptReferencedCount',
  /** Exact number of images the selection covered but kept because a manifest (of an image index, or of the image itself) could not be read. */
  KEPT_UNKNOWN_COUNT: 'KeptUnknownCount',
  /** Exact number of images the selection covered but kept because they are referrers (signatures, SBOMs, attestations) of an image that stays. */
  KEPT_REFERRER_COUNT: 'KeptReferrerCount',
  /** Exact number of tags the selection would have removed but kept because they moved to another image during the event. */
  KEPT_MOVED_COUNT: 'KeptMovedCount',
  /** Exact number of declared image IDs that ECR Public did not find (`ImageNotFound`): already gone, or never there. A selection's are not counted. */
  NOT_FOUND_COUNT: 'NotFoundCount',
  /**
   * JSON text: for each rule of the selection, by priority, the number of images (as users see them: an image index
   * with what it references counts once) it expired in the event, or would have in a dry run, e.g. `{"1":2,"3":0}`.
   * An ImageSelection is one rule, priority 1. `{}` without a selection. Exact, never cut (at most 50 rules).
   */
  RULE_COUNTS: 'RuleCounts',
} as const;

/** The `Data` map of a successful response. Every value is a string. */
export type ResponseData = { [K in (typeof ATTRIBUTES)[keyof typeof ATTRIBUTES]]: string };

/** Failure code for an image that is already gone: the goal holds. */
export const IMAGE_NOT_FOUND = 'ImageNotFound';

/** Most image IDs one BatchDeleteImage call accepts (API model: ImageIdentifierList max 100). */
export const MAX_IDS_PER_CALL = 100;

/** Failure code for an image a manifest list (image index) still references; ECR Public refuses to delete it. */
export const IMAGE_REFERENCED_BY_MANIFEST_LIST = 'ImageReferencedByManifestList';

/** Failure code for a tag given with a digest when the tag names another image (it moved): nothing is deleted. */
export const IMAGE_TAG_DOES_NOT_MATCH_DIGEST = 'ImageTagDoesNotMatchDigest';
