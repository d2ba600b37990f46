/**
 * Entry point of the handler. A CloudFormation event goes plan → execute →
 * summarize → respond: whatever happens, CloudFormation gets an answer before
 * the function's timeout. A tick of a deletion's schedule takes the same path
 * up to the verdict, answers nobody, and fails the invocation when the run
 * failed. Either way, one structured log line tells what the event did.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { IMAGE_NOT_FOUND, type ScheduledEvent } from '../lib/contract';
import { clientFor } from './client';
import { sendResponse } from './cfn-response';
import { DeadlineExceededError, DeletionProgress, PlanOutcome, executePlan } from './execute';
import { FAILED_CREATE_PHYSICAL_ID, Plan, isScheduledEvent, physicalResourceIdOf, planEvent, planScheduledRun } from './plan';
import { ResponseBody, Verdict, buildResponse, cutReason, formatImageId, imageIdsForLog, judge } from './summarize';

/**
 * Time kept for answering CloudFormation once ECR Public work stops: a quarter
 * of the time left, at most 20 s (the response PUT's retries fit in that).
 */
export function responseReserveMs(remainingMs: number): number {
  return Math.min(20_000, Math.floor(remainingMs / 4));
}

/**
 * Runs the work, but gives up at the deadline whether or not the work honours
 * the abort signal: a call stuck below the SDK must not keep CloudFormation
 * waiting for an answer that never comes.
 */
async function withDeadline<T>(work: Promise<T>, waitMs: number, abort: AbortController, onTimeout: () => Error): Promise<T> {
  // The work's own rejection after the deadline is expected; it must not crash the process.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        abort.abort();
        reject(onTimeout());
      },
      Math.max(0, waitMs),
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** What is sent as the reason of a thrown error: its name and message. */
function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    return `${error.name}: ${error.message}`;
  }
  return String(error);
}

/** A scheduled run that failed. Its message is the run's reason, cut; the log line has it whole. */
export class ScheduledRunFailedError extends Error {
  constructor(logicalResourceId: string, reason: string) {
    super(`scheduled run of ${logicalResourceId} failed: ${cutReason(reason)}`);
    this.name = 'ScheduledRunFailedError';
  }
}

/** What one run did: its plan (none when planning failed), its outcome (none when nothing ran) and its verdict. */
interface Run {
  readonly plan?: Plan;
  readonly outcome?: PlanOutcome;
  readonly verdict: Verdict;
}

/**
 * Plans, calls ECR Public until the work deadline, and judges the outcome.
 * Any error, invalid properties included, becomes a FAILED verdict.
 */
async function run(planOf: () => Plan, started: number, workDeadline: number): Promise<Run> {
  const abort = new AbortController();
  let plan: Plan | undefined;
  try {
    plan = planOf();
    if (plan.action === 'skip') {
      return { plan, verdict: { status: 'SUCCESS', reason: `no deletion: ${plan.why}` } };
    }
    const progress: DeletionProgress = { batchesTotal: 0, batchesDone: 0, deleted: 0 };
    const outcome = await withDeadline(
      executePlan(clientFor(plan.properties.ApiRegion), plan, { signal: abort.signal, progress }),
      workDeadline - Date.now(),
      abort,
      () => new DeadlineExceededError(progress, Date.now() - started),
    );
    return { plan, outcome, verdict: judge(plan, outcome) };
  } catch (error) {
    return { plan, verdict: { status: 'FAILED', reason: reasonOf(error) } };
  }
}

/** Who asked for a run, as the log line names it. */
interface Trigger {
  readonly requestType: unknown;
  readonly logicalResourceId: unknown;
  /** The properties as received, for the repository's name when they did not validate. */
  readonly properties: unknown;
}

/** The one structured log line of a run. It never holds the ResponseURL, a credential. */
function logRun(trigger: Trigger, { plan, outcome, verdict }: Run, started: number, truncated: boolean): void {
  const deletion = plan?.action === 'delete' ? plan : undefined;
  const listed = imageIdsForLog(outcome?.deleted ?? []);
  const notFound = imageIdsForLog((outcome?.failures ?? []).filter((f) => f.failureCode === IMAGE_NOT_FOUND).map((f) => f.imageId ?? {}));
  console.log(
    JSON.stringify({
      message: 'EcrPublicImageDeletion event',
      requestType: trigger.requestType,
      logicalResourceId: trigger.logicalResourceId,
      status: verdict.status,
      action: plan?.action ?? 'invalid',
      repository: deletion
        ? deletion.properties.RepositoryName
        : (trigger.properties as { readonly RepositoryName?: unknown } | undefined)?.RepositoryName,
      registryId: deletion?.properties.RegistryId,
      requested: deletion?.imageIds.length ?? 0,
      duplicatesCollapsed: deletion?.duplicatesCollapsed ?? 0,
      dryRun: outcome?.dryRun ?? false,
      selection: outcome?.selection,
      deleted: outcome?.deleted.length ?? 0,
      failures: outcome?.failures.length ?? 0,
      calls: outcome?.calls ?? 0,
      truncated,
      durationMs: Date.now() - started,
      reason: verdict.reason,
      // What went (in a dry run: what would have), as much as a log line holds.
      deletedImageIds: listed.imageIds,
      deletedImageIdsCut: listed.cut,
      // Declared images that ECR Public did not find: already gone, or a typo.
      notFound: notFound.imageIds.map(formatImageId),
      notFoundCut: notFound.cut,
    }),
  );
}

export async function handler(
  event: CloudFormationCustomResourceEvent | ScheduledEvent,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<void> {
  const started = Date.now();
  const remaining = context.getRemainingTimeInMillis();
  // A scheduled run keeps the same reserve: it ends, and logs why, before the function's timeout.
  const workDeadline = started + remaining - responseReserveMs(remaining);

  if (isScheduledEvent(event)) {
    const result = await run(() => planScheduledRun(event), started, workDeadline);
    logRun({ requestType: 'Scheduled', logicalResourceId: event.LogicalResourceId, properties: event.ResourceProperties }, result, started, false);
    // Nobody waits for an answer: a failed run fails the invocation, which the
    // function's Errors metric counts (and Lambda retries, as for any asynchronous invocation).
    if (result.verdict.status === 'FAILED') {
      throw new ScheduledRunFailedError(String(event.LogicalResourceId), result.verdict.reason);
    }
    return;
  }

  const result = await run(() => planEvent(event), started, workDeadline);
  const { verdict, outcome } = result;
  // A failed Create gets the marker ID, so that the Delete of its rollback does nothing.
  const physicalResourceId = verdict.status === 'FAILED' && event.RequestType === 'Create' ? FAILED_CREATE_PHYSICAL_ID : physicalResourceIdOf(event);
  const body: ResponseBody = buildResponse(
    {
      Status: verdict.status,
      PhysicalResourceId: physicalResourceId,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    },
    verdict,
    outcome,
  );
  logRun(
    { requestType: event.RequestType, logicalResourceId: event.LogicalResourceId, properties: event.ResourceProperties },
    result,
    started,
    body.Data?.Truncated === 'true',
  );

  await sendResponse(event.ResponseURL, JSON.stringify(body), { deadline: started + remaining - 1_000 });
}
