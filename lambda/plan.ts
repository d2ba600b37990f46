/**
 * Plan: from a CloudFormation event, or a tick of a deletion's schedule, to
 * what must happen, without any I/O. Most of the handler's behaviour is
 * decided here, so most tests live here.
 */
import { createHash } from 'node:crypto';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceUpdateEvent } from 'aws-lambda';
import { LIFECYCLE_EVENTS, RunTrigger, SCHEDULED_EVENT_SOURCE, ScheduledEvent, WireImageId, WireProperties, WireSelection } from '../lib/contract';
import { InvalidPropertiesError, collapseDuplicates, parseProperties, quoteValue } from '../lib/validation';

/**
 * Physical ID answered when a Create fails. CloudFormation then sends a Delete
 * with this ID while it rolls back; that Delete must do nothing and succeed, or
 * the stack ends in ROLLBACK_FAILED.
 */
export const FAILED_CREATE_PHYSICAL_ID = 'EcrPublicImageDeletion::CREATE_FAILED';

/** What the handler does for one event. */
export type Plan = SkipPlan | DeletePlan;

export interface SkipPlan {
  readonly action: 'skip';
  readonly physicalResourceId: string;
  /** Why no API call is made, for the log. */
  readonly why: string;
}

export interface DeletePlan {
  readonly action: 'delete';
  /** Absent for a scheduled run: no CloudFormation resource is answered. */
  readonly physicalResourceId?: string;
  readonly requestType: RunTrigger;
  readonly properties: WireProperties;
  /** The declared image IDs, exact repeats collapsed; empty when only a selection is given. */
  readonly imageIds: WireImageId[];
  /** The selection to evaluate on the repository's listing, if any. */
  readonly selection?: WireSelection;
  /** Compute and report, delete nothing. */
  readonly dryRun: boolean;
  /** How many declared entries were repeats, for the log. */
  readonly duplicatesCollapsed: number;
  /** The stack the event comes from (absent for a scheduled run), whose state the teardown guard reads. */
  readonly stackId?: string;
  /** The deletion resource's logical ID in that stack (absent for a scheduled run). */
  readonly logicalResourceId?: string;
}

/**
 * Whether the plan's selection must first ask if CloudFormation is deleting
 * the repository itself: a Delete that runs allImages() (narrowed or not)
 * would empty the repository, and CloudFormation also sends Delete when only
 * this resource leaves the stack. See repository-teardown.ts.
 */
export function needsTeardownGuard(plan: DeletePlan): boolean {
  return plan.requestType === 'Delete' && plan.selection?.Match === 'all';
}

/** The plan without its selection: what a guarded Delete still does when the repository stays. */
export function withoutSelection(plan: DeletePlan): DeletePlan {
  const { selection: _kept, ...rest } = plan;
  return rest;
}

/**
 * The physical ID of the resource. A Create gets a new one. Update and Delete
 * keep the one they were given, so that an Update never makes CloudFormation
 * delete "the old resource" (which would delete images a second time,
 * unasked), with one exception: an Update that replaces an emptier's
 * repository (see replacedRepository). aws-cdk answered the same way for
 * private ECR (aws-cdk #29581, after #27199 emptied the old repository during
 * the Update, which a rollback then returned to).
 */
export function physicalResourceIdOf(event: CloudFormationCustomResourceEvent): string {
  if (event.RequestType === 'Create') {
    return `EcrPublicImageDeletion-${event.LogicalResourceId}-${event.RequestId}`;
  }
  if (event.RequestType === 'Update') {
    const replaced = replacedRepository(event);
    if (replaced) return physicalIdAfterReplacement(event.PhysicalResourceId, replaced.old, replaced.next, accountOf(event.StackId));
  }
  return event.PhysicalResourceId;
}

/**
 * The old and new properties of an Update that moves an emptier to another
 * repository: the old properties empty a repository of this stack on Delete
 * (allImages() with Delete in deleteOn, and the repository's logical ID), and
 * the repository's registry or name changed (CloudFormation replaced it, or
 * the deletion was pointed at another one). Answering such an Update with a
 * new physical ID makes CloudFormation send a Delete, with the old
 * properties, for the old physical ID once the update has succeeded
 * (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS): the teardown guard then empties the
 * old repository if CloudFormation deletes it. A name-only emptier or a
 * deletion of declared IDs keeps its physical ID: no Delete of an old one.
 */
export function replacedRepository(event: CloudFormationCustomResourceUpdateEvent): { old: WireProperties; next: WireProperties } | undefined {
  let old: WireProperties;
  let next: WireProperties;
  try {
    old = parseProperties(withoutCloudFormationKeys(event.OldResourceProperties));
    next = parseProperties(withoutCloudFormationKeys(event.ResourceProperties));
  } catch {
    // Properties that break a rule: the Update fails or does nothing; no replacement is signalled.
    return undefined;
  }
  const emptier = old.Select?.Match === 'all' && old.DeleteOn.includes('Delete') && old.RepositoryLogicalId !== undefined;
  const account = accountOf(event.StackId);
  return emptier && repositoryKey(old, account) !== repositoryKey(next, account) ? { old, next } : undefined;
}

/** The account of a stack, from its ID (`arn:aws:cloudformation:<region>:<account>:stack/…`). */
const accountOf = (stackId: string | undefined): string | undefined => stackId?.split(':')[4] || undefined;

/**
 * Which repository the properties name: registry and name. No RegistryId means the registry of the stack's
 * account, so giving that account's ID explicitly names the same repository (no replacement).
 */
const repositoryKey = (properties: WireProperties, account: string | undefined) =>
  JSON.stringify([properties.RegistryId ?? account ?? null, properties.RepositoryName]);

/** The suffix that a physical ID gets for a repository: `-repo-` and 12 hex digits of its key. */
export function repositorySuffix(properties: WireProperties, account?: string): string {
  return `-repo-${createHash('sha256').update(repositoryKey(properties, account)).digest('hex').slice(0, 12)}`;
}

/**
 * The physical ID that an emptier answers when its repository moves from
 * `old` to `next`: the current ID with the new repository's suffix, or, when
 * the current ID ends with the suffix of the repository it leaves, the ID it
 * had before that. Either way it differs from the current one (a
 * replacement), stays short (at most one suffix from a Create's ID), and the
 * rollback of the Update (the same call, old and new swapped) gives back the
 * physical ID before it.
 */
export function physicalIdAfterReplacement(current: string, old: WireProperties, next: WireProperties, account?: string): string {
  const leaving = repositorySuffix(old, account);
  return current.endsWith(leaving) && current.length > leaving.length
    ? current.slice(0, -leaving.length)
    : `${current}${repositorySuffix(next, account)}`;
}

/**
 * The physical ID answered to CloudFormation: the plan's (see
 * physicalResourceIdOf), or, when planning failed, the event's; a failed
 * Create gets FAILED_CREATE_PHYSICAL_ID instead, so that the Delete of its
 * rollback does nothing, and a failed Update the ID it was given (a new one
 * would tell CloudFormation that the resource was replaced: aws-cdk #22670).
 * `status` is the verdict before a rollback turns a failure into a reported
 * success.
 */
export function answeredPhysicalId(event: CloudFormationCustomResourceEvent, plan: Plan | undefined, status: 'SUCCESS' | 'FAILED'): string {
  if (status === 'FAILED' && event.RequestType === 'Create') return FAILED_CREATE_PHYSICAL_ID;
  if (status === 'FAILED' && event.RequestType === 'Update') return event.PhysicalResourceId;
  return plan?.physicalResourceId ?? physicalResourceIdOf(event);
}

/**
 * Decides what one event does. Throws InvalidPropertiesError when the
 * properties break a rule, before any API call.
 */
export function planEvent(event: CloudFormationCustomResourceEvent): Plan {
  // Without this check, a type CloudFormation never sends would pass as "not in deleteOn" and succeed.
  if (!LIFECYCLE_EVENTS.includes(event.RequestType)) {
    throw new Error(`RequestType ${quoteValue(event.RequestType)} is not a custom resource event (allowed: ${LIFECYCLE_EVENTS.join(', ')})`);
  }
  const physicalResourceId = physicalResourceIdOf(event);
  if (event.RequestType === 'Delete' && event.PhysicalResourceId === FAILED_CREATE_PHYSICAL_ID) {
    return { action: 'skip', physicalResourceId, why: 'Delete after a failed Create: nothing was created, nothing to undo' };
  }
  let properties: WireProperties;
  try {
    properties = parseProperties(withoutCloudFormationKeys(event.ResourceProperties));
  } catch (error) {
    // Properties that passed the rules of their day can break a stricter rule of a later version.
    // A Delete that failed for that could never succeed: the stack would be stuck in DELETE_FAILED.
    if (event.RequestType === 'Delete' && error instanceof InvalidPropertiesError) {
      return { action: 'skip', physicalResourceId, why: `the properties break a rule, so nothing is deleted (${error.message})` };
    }
    throw error;
  }
  if (!properties.DeleteOn.includes(event.RequestType)) {
    return {
      action: 'skip',
      physicalResourceId,
      why: `deleteOn (${properties.DeleteOn.join(', ')}) does not include ${event.RequestType}`,
    };
  }
  const { unique, duplicates } = collapseDuplicates(properties.ImageIds ?? []);
  return {
    action: 'delete',
    physicalResourceId,
    requestType: event.RequestType,
    properties,
    imageIds: unique,
    selection: properties.Select,
    dryRun: properties.DryRun === 'true',
    duplicatesCollapsed: duplicates.length,
    stackId: event.StackId,
    logicalResourceId: event.LogicalResourceId,
  };
}

/** CloudFormation adds ServiceToken and ServiceTimeout to the properties; they are not ours to validate. Anything else is left to validation. */
function withoutCloudFormationKeys(properties: unknown): unknown {
  if (typeof properties !== 'object' || properties === null) return properties;
  const { ServiceToken: _serviceToken, ServiceTimeout: _serviceTimeout, ...rest } = properties as { [key: string]: unknown };
  return rest;
}

/** Tells a tick of a deletion's schedule from a CloudFormation event, which has no `Source`. */
export function isScheduledEvent(event: unknown): event is ScheduledEvent {
  return typeof event === 'object' && event !== null && (event as { Source?: unknown }).Source === SCHEDULED_EVENT_SOURCE;
}

/**
 * Decides what a tick of a deletion's schedule does: the selection, on the
 * repository as it is now, as an Update would run it. `deleteOn` does not
 * apply (a tick is not a lifecycle event), and declared image IDs are left to
 * deployments. Throws InvalidPropertiesError when the properties break a rule
 * or hold no selection, before any API call.
 */
export function planScheduledRun(event: ScheduledEvent): DeletePlan {
  const properties = parseProperties(event.ResourceProperties);
  if (properties.Select === undefined) {
    throw new InvalidPropertiesError(['a scheduled run needs select (declared imageIds are deleted at deployments only)']);
  }
  return {
    action: 'delete',
    requestType: 'Scheduled',
    properties,
    imageIds: [],
    selection: properties.Select,
    dryRun: properties.DryRun === 'true',
    duplicatesCollapsed: 0,
  };
}
