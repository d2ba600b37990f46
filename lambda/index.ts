/**
 * Entry point of the custom-resource handler: CloudFormation event → plan →
 * execute → summarize → respond. Whatever happens, CloudFormation gets an
 * answer before the function's timeout, and one structured log line tells
 * what the event did.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { clientFor } from './client';
import { sendResponse } from './cfn-response';
import { DeadlineExceededError, DeletionProgress, PlanOutcome, executePlan } from './execute';
import { FAILED_CREATE_PHYSICAL_ID, Plan, physicalResourceIdOf, planEvent } from './plan';
import { ResponseBody, Verdict, buildResponse, judge } from './summarize';

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

export async function handler(event: CloudFormationCustomResourceEvent, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<void> {
  const started = Date.now();
  const remaining = context.getRemainingTimeInMillis();
  const workDeadline = started + remaining - responseReserveMs(remaining);
  const abort = new AbortController();

  let plan: Plan | undefined;
  let outcome: PlanOutcome | undefined;
  let verdict: Verdict;
  try {
    plan = planEvent(event);
    if (plan.action === 'skip') {
      verdict = { status: 'SUCCESS', reason: `no deletion: ${plan.why}` };
    } else {
      const progress: DeletionProgress = { batchesTotal: 0, batchesDone: 0, deleted: 0 };
      outcome = await withDeadline(
        executePlan(clientFor(plan.properties.ApiRegion), plan, { signal: abort.signal, progress }),
        workDeadline - Date.now(),
        abort,
        () => new DeadlineExceededError(progress, Date.now() - started),
      );
      verdict = judge(plan, outcome);
    }
  } catch (error) {
    verdict = { status: 'FAILED', reason: reasonOf(error) };
  }

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

  console.log(
    JSON.stringify({
      message: 'EcrPublicImageDeletion event',
      requestType: event.RequestType,
      logicalResourceId: event.LogicalResourceId,
      status: verdict.status,
      action: plan?.action ?? 'invalid',
      repository: plan?.action === 'delete' ? plan.properties.RepositoryName : event.ResourceProperties?.RepositoryName,
      registryId: plan?.action === 'delete' ? plan.properties.RegistryId : undefined,
      requested: plan?.action === 'delete' ? plan.imageIds.length : 0,
      duplicatesCollapsed: plan?.action === 'delete' ? plan.duplicatesCollapsed : 0,
      dryRun: outcome?.dryRun ?? false,
      selection: outcome?.selection,
      deleted: outcome?.deleted.length ?? 0,
      failures: outcome?.failures.length ?? 0,
      calls: outcome?.calls ?? 0,
      truncated: body.Data?.Truncated === 'true',
      durationMs: Date.now() - started,
      reason: verdict.reason,
    }),
  );

  await sendResponse(event.ResponseURL, JSON.stringify(body), { deadline: started + remaining - 1_000 });
}
