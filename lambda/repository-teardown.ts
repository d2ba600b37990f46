/**
 * Whether CloudFormation is deleting the repository itself, from the stack's
 * state: the one question a Delete must answer before a selection of
 * allImages() runs, because CloudFormation also sends Delete when only the
 * deletion resource leaves the stack (removed, renamed, moved) or when a
 * rollback removes a newly added one. Pure: the state is read elsewhere.
 *
 * Fail safe: an unknown answer keeps every image.
 */
import type { StackState } from './stack-state';

/** What the guard knows of the repository (from the resource's properties). */
export interface RepositoryInStack {
  /** Its logical ID in this stack; absent when the deletion was given a name only. */
  readonly logicalId?: string;
  /** Its DeletionPolicy in the template the deletion came from; absent means Delete. */
  readonly deletionPolicy?: string;
}

export interface TeardownDecision {
  /** True when the repository is being deleted by CloudFormation, so emptying it is what was asked. */
  readonly empties: boolean;
  /** Why, in words for the reason and the log. */
  readonly why: string;
}

/** Stack statuses during which CloudFormation rolls back; no event may fail then. */
export const ROLLBACK_STATUSES: readonly string[] = [
  'ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'IMPORT_ROLLBACK_IN_PROGRESS',
];

/** Statuses in which an update (or its rollback) deletes what its template no longer holds. */
const TEMPLATE_CLEANUP_STATUSES: readonly string[] = [
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
];

/** Whether CloudFormation deletes a resource with this DeletionPolicy when it leaves the stack in this status. */
function deletedByPolicy(deletionPolicy: string | undefined, status: string): boolean {
  const policy = deletionPolicy ?? 'Delete';
  // RetainExceptOnCreate deletes a resource only when a rollback undoes its creation.
  return policy === 'Delete' || (policy === 'RetainExceptOnCreate' && ROLLBACK_STATUSES.includes(status));
}

export function repositoryTeardown(state: StackState | { readonly unreadable: string }, repository: RepositoryInStack): TeardownDecision {
  if ('unreadable' in state) {
    return { empties: false, why: `the stack's state could not be read (${state.unreadable}), so the repository is not known to be deleted` };
  }
  const { status } = state;
  const policy = repository.deletionPolicy ?? 'Delete';
  if (repository.logicalId === undefined) {
    // Not the stack's repository: CloudFormation never deletes it. Emptying goes with the stack's own deletion only.
    return status === 'DELETE_IN_PROGRESS'
      ? { empties: true, why: 'the stack is being deleted (DELETE_IN_PROGRESS)' }
      : {
          empties: false,
          why: `the stack is ${status}, not being deleted, and the repository is not a resource of this stack: only the deletion resource leaves`,
        };
  }
  const which = `repository ${repository.logicalId}`;
  if (status === 'DELETE_IN_PROGRESS' || status === 'ROLLBACK_IN_PROGRESS') {
    return deletedByPolicy(policy, status)
      ? { empties: true, why: `the stack is being deleted (${status}) and ${which} with it` }
      : { empties: false, why: `the stack is being deleted (${status}), but ${which} has DeletionPolicy ${policy}: it stays` };
  }
  if (!TEMPLATE_CLEANUP_STATUSES.includes(status)) {
    return { empties: false, why: `the stack is ${status}: CloudFormation deletes no repository then` };
  }
  if (state.templateResources === undefined) {
    return {
      empties: false,
      why: `the stack's template could not be read (${state.templateProblem ?? 'not read'}), so ${which} is not known to leave`,
    };
  }
  if (state.templateResources.has(repository.logicalId)) {
    return {
      empties: false,
      why: `${which} stays in the stack's template (${status}): only the deletion resource leaves (removed, renamed or moved)`,
    };
  }
  return deletedByPolicy(policy, status)
    ? { empties: true, why: `${which} has left the stack's template and CloudFormation deletes it (${status})` }
    : { empties: false, why: `${which} has left the stack's template (${status}), but its DeletionPolicy ${policy} keeps it` };
}
