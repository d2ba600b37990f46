/**
 * Entry point of the handler. A CloudFormation event goes plan → execute →
 * verdict, response and log line → respond (CONTRIBUTING.md's "How it works"
 * names the file of each step): whatever happens, CloudFormation gets an answer before
 * the function's timeout. A tick of a deletion's schedule takes the same path
 * up to the verdict, answers nobody, and fails the invocation when the run
 * failed. Either way, one structured log line tells what the event did.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import type { ScheduledEvent } from '../lib/contract';
import { clientFor } from './client';
import { sendResponse } from './cfn-response';
import { explainError } from './errors';
import { DeadlineExceededError, newProgress } from './execute';
import { PlanOutcome, executePlan } from './execute-plan';
import { logEventLine } from './log-line';
import { DeletePlan, Plan, answeredPhysicalId, isScheduledEvent, needsTeardownGuard, planEvent, planScheduledRun, withoutSelection } from './plan';
import { ROLLBACK_STATUSES, TeardownDecision, repositoryTeardown, stackReadsFor } from './repository-teardown';
import { ResponseBody, buildResponse, cutReason } from './response';
import { Verdict, judge } from './verdict';

/**
 * The stack-state reader. stack-state.ts is a file of its own in the bundle
 * (lambda/bundle.mjs), loaded on first use: only a failure or a Delete of
 * allImages() reads the state, so the cold start of every other event does
 * not pay for the CloudFormation client.
 */
function stackStateReader(): typeof import('./stack-state') {
  // require, not import(): the bundle is CommonJS, and Node's import() would want the file's extension.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./stack-state') as typeof import('./stack-state');
}

/** Longest wait for CloudFormation's answer about the stack's state. */
export const STACK_STATE_WAIT_MS = 10_000;

/**
 * Time kept for answering CloudFormation once ECR Public work stops: a quarter
 * of the time left, at most 20 s (the response PUT's retries fit in that).
 */
export function responseReserveMs(remainingMs: number): number {
  return Math.min(20_000, Math.floor(remainingMs / 4));
}

/**
 * Time a scheduled tick keeps for its deletions once its registry reads stop:
 * a third of the work time, at most a minute (what deletes 100,000 images at
 * 300 ms a call: bench/RESULTS.md, section 7).
 */
export const TICK_DELETION_RESERVE_MS = 60_000;

/**
 * Epoch milliseconds past which no manifest read starts. A CloudFormation
 * event, which a deployment waits for, reads in the first half of the work
 * time left and deletes in the second. A scheduled tick answers no one: it
 * reads until TICK_DELETION_RESERVE_MS before the work deadline (at most two
 * thirds of the work time before it), most of the function's time; what it
 * could not read, the next tick reads, from where the reference cache left
 * off. A longer function timeout (`functionTimeout`) gives a tick more reads.
 */
export function readDeadlineOf(workDeadline: number, nowMs: number = Date.now(), trigger: 'deployment' | 'scheduled' = 'deployment'): number {
  const work = Math.max(0, workDeadline - nowMs);
  if (trigger === 'scheduled') return workDeadline - Math.min(TICK_DELETION_RESERVE_MS, Math.floor(work / 3));
  return nowMs + Math.floor(work / 2);
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

/** A scheduled run that failed. Its message is the run's reason, cut; the log line has it whole. */
export class ScheduledRunFailedError extends Error {
  constructor(logicalResourceId: string, reason: string) {
    super(`scheduled run of ${logicalResourceId} failed: ${cutReason(reason)}`);
    this.name = 'ScheduledRunFailedError';
  }
}

/** What one event did: its plan (none when planning failed), its outcome (none when nothing ran) and its verdict. */
export interface EventResult {
  readonly plan?: Plan;
  /** On a failure during the work, what had been deleted before it (for the log, and the attributes of a reported rollback failure). */
  readonly outcome?: PlanOutcome;
  readonly verdict: Verdict;
  /** The teardown guard's answer, when the plan needed one. */
  readonly teardown?: TeardownDecision;
}

/**
 * Whether CloudFormation is deleting the repository itself: read the stack's
 * status, then what the decision needs for that status (stackReadsFor), then
 * decide. Unknown keeps every image.
 */
async function teardownOf(plan: DeletePlan, signal: AbortSignal): Promise<TeardownDecision> {
  const { properties } = plan;
  const repository = {
    name: properties.RepositoryName,
    logicalId: properties.RepositoryLogicalId,
    deletionPolicy: properties.RepositoryDeletionPolicy,
    updateReplacePolicy: properties.RepositoryUpdateReplacePolicy,
  };
  const deletion = { logicalId: plan.logicalResourceId };
  if (plan.stackId === undefined) return repositoryTeardown({ unreadable: 'the event names no stack' }, repository, deletion);
  try {
    const reader = stackStateReader();
    const status = await reader.readStackStatus(plan.stackId, signal);
    const details = stackReadsFor(status, repository).details ? await reader.readStackDetails(plan.stackId, signal) : {};
    return repositoryTeardown({ status, ...details }, repository, deletion);
  } catch (error) {
    return repositoryTeardown({ unreadable: explainError(error) }, repository, deletion);
  }
}

/**
 * Plans, asks the teardown guard when the plan needs it, calls ECR Public
 * until the work deadline, and judges the outcome. Any error, invalid
 * properties included, becomes a FAILED verdict that still says how many
 * image IDs went before it (the log line lists them).
 */
async function planAndExecute(planOf: () => Plan, started: number, workDeadline: number): Promise<EventResult> {
  const abort = new AbortController();
  const progress = newProgress();
  let plan: Plan | undefined;
  let teardown: TeardownDecision | undefined;
  try {
    plan = planOf();
    if (plan.action === 'skip') {
      return { plan, verdict: { status: 'SUCCESS', reason: `no deletion: ${plan.why}` } };
    }
    const deletion: DeletePlan = plan;
    const work = async (): Promise<PlanOutcome | undefined> => {
      let toRun = deletion;
      if (needsTeardownGuard(deletion)) {
        teardown = await teardownOf(deletion, abort.signal);
        if (!teardown.empties) {
          // The repository stays: its images stay. Declared image IDs, if any, still go, unless this
          // Delete is for an old physical ID (or the state is unknown): then they stay too.
          if (deletion.imageIds.length === 0 || !teardown.declaredIdsGo) return undefined;
          toRun = withoutSelection(deletion);
        }
      }
      return executePlan(clientFor(deletion.properties.ApiRegion), toRun, {
        signal: abort.signal,
        progress,
        // A deployment reads in the first half of the time left, so that the deletions get the second; a tick reads longer.
        readDeadline: readDeadlineOf(workDeadline, Date.now(), deletion.requestType === 'Scheduled' ? 'scheduled' : 'deployment'),
        workDeadline,
      });
    };
    const outcome = await withDeadline(work(), workDeadline - Date.now(), abort, () => new DeadlineExceededError(progress, Date.now() - started));
    const guarded = teardown && !teardown.empties ? `selection not run: ${teardown.why}` : teardown ? `emptied because ${teardown.why}` : undefined;
    if (outcome === undefined) {
      return { plan, teardown, verdict: { status: 'SUCCESS', reason: `no deletion: ${guarded}` } };
    }
    const verdict = judge(deletion, outcome);
    return { plan, outcome, teardown, verdict: guarded ? { ...verdict, reason: `${verdict.reason} (${guarded})` } : verdict };
  } catch (error) {
    const deleted = progress.deletedIds;
    const reason = explainError(error, plan?.action === 'delete' ? plan.properties : undefined);
    // The record first, so that no cut of the reason loses it.
    const record =
      plan?.action !== 'delete'
        ? ''
        : deleted.length > 0
          ? `${deleted.length} image IDs deleted before the failure (the function log lists them): `
          : 'nothing deleted: ';
    const partial: PlanOutcome = {
      deleted: [...deleted],
      failures: [],
      repositoryMissing: false,
      calls: progress.batchesDone,
      tolerated: [],
      dryRun: plan?.action === 'delete' && plan.dryRun,
      notFound: [],
      moved: [],
    };
    // The work had started when the plan was a deletion: the partial outcome says so (DeletionRan), and what went.
    return { plan, teardown, outcome: plan?.action === 'delete' ? partial : undefined, verdict: { status: 'FAILED', reason: `${record}${reason}` } };
  }
}

/**
 * A failure during a rollback leaves the stack in UPDATE_ROLLBACK_FAILED or
 * ROLLBACK_FAILED, which only skipping resources by hand undoes. So a FAILED
 * verdict is turned into SUCCESS when the stack is rolling back: the reason
 * and the log still say what failed. When the stack's state cannot be read,
 * the verdict stands.
 */
async function duringRollback(stackId: string, verdict: Verdict, deadline: number): Promise<{ verdict: Verdict; stackStatus?: string }> {
  if (verdict.status === 'SUCCESS') return { verdict };
  const abort = new AbortController();
  try {
    const status = await withDeadline(
      stackStateReader().readStackStatus(stackId, abort.signal),
      Math.min(STACK_STATE_WAIT_MS, deadline - Date.now()),
      abort,
      () => new Error('no answer in time'),
    );
    if (!ROLLBACK_STATUSES.includes(status)) return { verdict, stackStatus: status };
    return {
      stackStatus: status,
      verdict: {
        status: 'SUCCESS',
        reason: `reported, not failed, because the stack is ${status} (a failure would stop the rollback): ${verdict.reason}`,
      },
    };
  } catch (error) {
    return { verdict: { ...verdict, reason: `${verdict.reason} (the stack's state could not be read to tell a rollback: ${explainError(error)})` } };
  }
}

/**
 * The physical ID to answer. An Update that moves an emptier to another
 * repository answers a new one (plan.ts), so that CloudFormation deletes the
 * old one at cleanup, once the update has succeeded. During a rollback it must
 * not: the Update that CloudFormation sends to undo a failed one carries the
 * ID the resource kept, and a new ID then would signal a replacement nobody
 * made. An ID that goes back to the one before a replacement (shorter: the
 * suffix removed) is always answered. So, before answering a longer ID, the
 * stack's status is read (once: a failure's reading is reused); in a rollback,
 * or when it cannot be read, the ID given is answered, which deletes nothing.
 */
async function physicalIdToAnswer(
  event: CloudFormationCustomResourceEvent,
  planned: string,
  known: string | undefined,
  deadline: number,
): Promise<string> {
  if (event.RequestType !== 'Update' || planned.length <= event.PhysicalResourceId.length) return planned;
  let status = known;
  if (status === undefined) {
    const abort = new AbortController();
    try {
      status = await withDeadline(
        stackStateReader().readStackStatus(event.StackId, abort.signal),
        Math.min(STACK_STATE_WAIT_MS, deadline - Date.now()),
        abort,
        () => new Error('no answer in time'),
      );
    } catch {
      return event.PhysicalResourceId;
    }
  }
  return ROLLBACK_STATUSES.includes(status) ? event.PhysicalResourceId : planned;
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
    const result = await planAndExecute(() => planScheduledRun(event), started, workDeadline);
    logEventLine(
      { requestType: 'Scheduled', logicalResourceId: event.LogicalResourceId, properties: event.ResourceProperties },
      result,
      started,
      false,
    );
    // Nobody waits for an answer: a failed run fails the invocation, which the
    // function's Errors metric counts (and Lambda retries, as for any asynchronous invocation).
    if (result.verdict.status === 'FAILED') {
      throw new ScheduledRunFailedError(String(event.LogicalResourceId), result.verdict.reason);
    }
    return;
  }

  const ran = await planAndExecute(() => planEvent(event), started, workDeadline);
  const stateDeadline = started + remaining - responseReserveMs(remaining) / 2;
  const { verdict, stackStatus } = await duringRollback(event.StackId, ran.verdict, stateDeadline);
  const result: EventResult = { ...ran, verdict };
  const { outcome } = result;
  const base = {
    Status: verdict.status,
    PhysicalResourceId: await physicalIdToAnswer(event, answeredPhysicalId(event, ran.plan, ran.verdict.status), stackStatus, stateDeadline),
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  let body: ResponseBody;
  try {
    body = buildResponse(base, verdict, outcome);
  } catch (error) {
    // buildResponse is total (a property test says so); should it ever throw, the stack still gets an answer and the log its line.
    body = {
      ...base,
      Status: 'FAILED',
      Reason: `the response could not be built (${String(error).slice(0, 200)}); the function log has the outcome`,
    };
  }
  logEventLine(
    { requestType: event.RequestType, logicalResourceId: event.LogicalResourceId, properties: event.ResourceProperties },
    result,
    started,
    body.Data?.Truncated === 'true',
    stackStatus,
  );

  await sendResponse(event.ResponseURL, JSON.stringify(body), { deadline: started + remaining - 1_000 });
}
