/**
 * The verdict of a deletion that ran: SUCCESS or FAILED, and a reason that
 * says what went and what was kept. Which failures count is
 * failure-tolerance.ts's decision; fitting the reason into the response is
 * response.ts's.
 */
import type { ImageIdentifier } from '@aws-sdk/client-ecr-public';
import type { DeletionOutcome } from './execute';
import type { PlanOutcome } from './execute-plan';
import { blockingFailures } from './failure-tolerance';
import type { DeletePlan } from './plan';

export interface Verdict {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly reason: string;
}

/** Formats an image ID as the CLI takes it: `imageTag=v1,imageDigest=sha256:…`. */
export function formatImageId(id: ImageIdentifier | undefined): string {
  const parts: string[] = [];
  if (id?.imageTag !== undefined) parts.push(`imageTag=${id.imageTag}`);
  if (id?.imageDigest !== undefined) parts.push(`imageDigest=${id.imageDigest}`);
  return parts.length > 0 ? parts.join(',') : '(no image ID)';
}

function registryLabel(plan: DeletePlan): string {
  return plan.properties.RegistryId ? `registry ${plan.properties.RegistryId}` : "the account's registry";
}

/** A read failure's cause without its URL (the log line has it whole). */
function shortCause(cause: string | undefined): string {
  return cause === undefined ? 'see the function log' : cause.replace(/^sha256:[0-9a-f]+: /, '').replace(/GET \S+: /g, '');
}

/** What the manifest reads did, in the reason's words: cache hits, registry reads and how they were authorized, 429s. */
function readCounters(reads: NonNullable<PlanOutcome['selection']>['reads'] | undefined): string[] {
  if (reads === undefined || reads.asked === 0) return [];
  const registry =
    reads.fromRegistry === 0
      ? []
      : [
          `${reads.fromRegistry - reads.notRead} manifests read from the registry` +
            (reads.access ? ` (${reads.access.length > 160 ? `${reads.access.slice(0, 157)}...` : reads.access})` : '') +
            (reads.throttled > 0 ? `, ${reads.throttled} answered 429` : ''),
        ];
  return [`${reads.fromCache} manifests from the reference cache${reads.cacheOff ? ' (off: see the log)' : ''}`, ...registry];
}

/**
 * Decides SUCCESS or FAILED for a deletion that ran. Images kept because a
 * manifest could not be read do not fail the event: nothing unsafe was done,
 * the reason and `KeptUnknownCount` say what was kept and why, and the next
 * deployment or scheduled tick deletes them once the registry answers.
 * Failing instead would roll a deployment back for a registry outage. Nor do
 * tags that moved to another image during the event (a push won the race):
 * the reason and `KeptMovedCount` say so.
 */
export function judge(
  plan: DeletePlan,
  outcome: DeletionOutcome & Partial<Pick<PlanOutcome, 'tolerated' | 'dryRun' | 'selection' | 'moved'>>,
): Verdict {
  const { RepositoryName, ApiRegion, FailOnImageFailure } = plan.properties;
  const where = `repository "${RepositoryName}" in ${registryLabel(plan)} (ECR Public, ${ApiRegion})`;
  if (outcome.repositoryMissing) {
    if (plan.requestType === 'Delete') {
      return { status: 'SUCCESS', reason: `${where} does not exist: nothing left to delete` };
    }
    return { status: 'FAILED', reason: `${where} does not exist (RepositoryNotFoundException); create it before declaring deletions in it` };
  }
  const tolerated = new Set(outcome.tolerated ?? []);
  const blocking = blockingFailures(outcome.failures, tolerated);
  // Counters that are zero say nothing: only the listing and the match are always given.
  const counters = outcome.selection
    ? [
        `${outcome.selection.listed} images listed`,
        `${outcome.selection.matched} matched`,
        ...[
          [outcome.selection.keptNewest, 'kept as newest'],
          [outcome.selection.keptProtected, 'protected'],
          [outcome.selection.keptReferenced, 'kept as referenced by a kept image index'],
          [outcome.selection.keptReferrers, 'kept as referrers (signatures, SBOMs) of a kept image'],
          [tolerated.size, 'refused as still referenced by a manifest list'],
        ]
          .filter(([count]) => count !== 0)
          .map(([count, what]) => `${count} ${what}`),
      ]
    : [];
  // A lifecycle policy's preview: how many images each rule expires, the rules that expire some (RuleCounts has
  // every rule). An ImageSelection is one rule: the counts above say it.
  const perRule =
    outcome.selection && plan.selection?.Match === 'lifecycle'
      ? [
          `images ${outcome.dryRun ? 'that would expire' : 'expired'} per rule: ` +
            (outcome.selection.rules
              .filter((rule) => rule.expired > 0)
              .map((rule) => `rule ${rule.priority}: ${rule.expired}`)
              .join(', ') || 'none'),
        ]
      : [];
  const reads = outcome.selection?.reads;
  const selected = outcome.selection ? ` (selection: ${[...counters, ...perRule, ...readCounters(reads)].join(', ')})` : '';
  // Failing closed is reported first, where a cut reason still shows it.
  const notRead = reads?.notRead ?? 0;
  const unknown = outcome.selection?.keptUnknown
    ? notRead > 0
      ? `kept ${outcome.selection.keptUnknown} images whose references are not known yet: ${notRead} manifests were not read ` +
        "within this run's read budget (ECR Public's pull quota; the reference cache keeps what was read, and the next run " +
        `continues from there${outcome.selection.provenAfter ? `; decided for the ${outcome.selection.provenAfter.images} images pushed after ${outcome.selection.provenAfter.pushedAfter}` : ''}). `
      : `kept ${outcome.selection.keptUnknown} images whose references are unknown: ${outcome.selection.unknownCount} manifests ` +
        `could not be read (${shortCause(outcome.selection.unknownCauses[0])}); a later run deletes them once the registry answers. `
    : '';
  const moved = outcome.moved?.length
    ? `kept ${outcome.moved.length} tags that moved to another image during the event, with the image just pushed ` +
      `(${outcome.moved.slice(0, 3).map(formatImageId).join('; ')}${outcome.moved.length > 3 ? '; …' : ''}). `
    : '';
  const summary =
    unknown +
    moved +
    (outcome.dryRun
      ? `dry run: would delete ${outcome.deleted.length} image IDs from ${where}${selected}; nothing deleted`
      : `deleted ${outcome.deleted.length} image IDs from ${where}${selected}; ${outcome.failures.length} failures`);
  if (blocking.length === 0 || FailOnImageFailure === 'false') {
    return { status: 'SUCCESS', reason: summary };
  }
  const listed = blocking.map((f) => `${formatImageId(f.imageId)}: ${f.failureCode}${f.failureReason ? ` (${f.failureReason})` : ''}`);
  return {
    status: 'FAILED',
    reason:
      `${blocking.length} image IDs could not be deleted from ${where}: ${listed.join('; ')}. ` +
      `Set failOnImageFailure: false to report failures without failing ${plan.requestType === 'Scheduled' ? 'the scheduled run' : 'the deployment'}.`,
  };
}
