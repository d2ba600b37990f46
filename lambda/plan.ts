/**
 * Plan: from a CloudFormation event to what must happen, without any I/O.
 * Most of the handler's behaviour is decided here, so most tests live here.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { LIFECYCLE_EVENTS, LifecycleEvent, WireImageId, WireProperties, WireSelection } from '../lib/contract';
import { collapseDuplicates, parseProperties, show } from '../lib/validation';

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
  readonly physicalResourceId: string;
  readonly requestType: LifecycleEvent;
  readonly properties: WireProperties;
  /** The declared image IDs, exact repeats collapsed; empty when only a selection is given. */
  readonly imageIds: WireImageId[];
  /** The selection to evaluate on the repository's listing, if any. */
  readonly selection?: WireSelection;
  /** Compute and report, delete nothing. */
  readonly dryRun: boolean;
  /** How many declared entries were repeats, for the log. */
  readonly duplicatesCollapsed: number;
}

/**
 * The physical ID of the resource. A Create gets a new one; Update and Delete
 * keep the one they were given, so an Update never makes CloudFormation delete
 * "the old resource" (which would delete images a second time, unasked).
 */
export function physicalResourceIdOf(event: CloudFormationCustomResourceEvent): string {
  if (event.RequestType === 'Create') {
    return `EcrPublicImageDeletion-${event.LogicalResourceId}-${event.RequestId}`;
  }
  return event.PhysicalResourceId;
}

/**
 * Decides what one event does. Throws InvalidPropertiesError when the
 * properties break a rule, before any API call.
 */
export function planEvent(event: CloudFormationCustomResourceEvent): Plan {
  // Without this check, a type CloudFormation never sends would pass as "not in deleteOn" and succeed.
  if (!LIFECYCLE_EVENTS.includes(event.RequestType)) {
    throw new Error(`RequestType ${show(event.RequestType)} is not a custom resource event (allowed: ${LIFECYCLE_EVENTS.join(', ')})`);
  }
  const physicalResourceId = physicalResourceIdOf(event);
  if (event.RequestType === 'Delete' && event.PhysicalResourceId === FAILED_CREATE_PHYSICAL_ID) {
    return { action: 'skip', physicalResourceId, why: 'Delete after a failed Create: nothing was created, nothing to undo' };
  }
  const properties = parseProperties(withoutCloudFormationKeys(event.ResourceProperties));
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
  };
}

/** CloudFormation adds ServiceToken and ServiceTimeout to the properties; they are not ours to validate. Anything else is left to validation. */
function withoutCloudFormationKeys(properties: unknown): unknown {
  if (typeof properties !== 'object' || properties === null) return properties;
  const { ServiceToken: _serviceToken, ServiceTimeout: _serviceTimeout, ...rest } = properties as { [key: string]: unknown };
  return rest;
}
