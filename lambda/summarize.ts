/**
 * Summarize: the event's verdict (SUCCESS or FAILED, and why) and the
 * attributes, cut so that the whole response stays under CloudFormation's
 * 4,096-byte limit. Counts are always exact; lists are cut and flagged.
 */
import type { ImageFailure, ImageIdentifier } from '@aws-sdk/client-ecr-public';
import { ATTRIBUTES, IMAGE_NOT_FOUND, ResponseData } from '../lib/contract';
import type { DeletionOutcome, PlanOutcome } from './execute';
import type { DeletePlan } from './plan';

/** CloudFormation rejects a custom resource response body of 4,096 bytes or more. */
export const MAX_RESPONSE_BYTES = 4096;
/** Longest reason sent, in bytes: enough to name a few dozen images, short enough to read. */
export const MAX_REASON_BYTES = 2000;
/** Most bytes of image IDs the log line lists: CloudWatch Logs takes events of up to 256 KB. */
export const MAX_LOGGED_IDS_BYTES = 128 * 1024;

export interface Verdict {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly reason: string;
}

/** The body CloudFormation expects at the ResponseURL. */
export interface ResponseBody {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: ResponseData;
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

/**
 * Decides SUCCESS or FAILED for a deletion that ran. Images kept because an
 * index manifest could not be read do not fail the event: nothing unsafe was
 * done, the reason and `KeptUnknownCount` say what was kept and why, and the
 * next deployment or scheduled tick deletes them once the registry answers.
 * Failing instead would roll a deployment back for a registry outage.
 */
export function judge(plan: DeletePlan, outcome: DeletionOutcome & Partial<Pick<PlanOutcome, 'tolerated' | 'dryRun' | 'selection'>>): Verdict {
  const { RepositoryName, ApiRegion, FailOnImageFailure } = plan.properties;
  const where = `repository "${RepositoryName}" in ${registryLabel(plan)} (ECR Public, ${ApiRegion})`;
  if (outcome.repositoryMissing) {
    if (plan.requestType === 'Delete') {
      return { status: 'SUCCESS', reason: `${where} does not exist: nothing left to delete` };
    }
    return { status: 'FAILED', reason: `${where} does not exist (RepositoryNotFoundException); create it before declaring deletions in it` };
  }
  const tolerated = new Set(outcome.tolerated ?? []);
  const blocking = outcome.failures.filter((f) => f.failureCode !== IMAGE_NOT_FOUND && !tolerated.has(f));
  const selected = outcome.selection
    ? ` (selection: ${outcome.selection.listed} images listed, ${outcome.selection.matched} matched, ` +
      `${outcome.selection.keptNewest} kept as newest, ${outcome.selection.keptProtected} protected, ` +
      `${outcome.selection.keptReferenced} kept as referenced by a kept image index, ` +
      `${tolerated.size} refused as still referenced by a manifest list)`
    : '';
  // Failing closed is reported first, where a cut reason still shows it.
  const unknown = outcome.selection?.keptUnknown
    ? `kept ${outcome.selection.keptUnknown} images whose references are unknown: ${outcome.selection.unknownCount} image index manifests ` +
      `could not be read (${shortCause(outcome.selection.unknownCauses[0])}); a later run deletes them once the registry answers. `
    : '';
  const summary =
    unknown +
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

/** Bytes an item adds to a list held as JSON text inside the JSON body (escapes included), comma included. */
function costInBody(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(item))) - 2 + 1;
}

/** How many leading items of `items` fit in `budget` bytes, and the bytes they use. */
function fit(items: readonly unknown[], budget: number): { count: number; used: number } {
  let used = 0;
  let count = 0;
  for (const item of items) {
    const cost = costInBody(item);
    if (used + cost > budget) break;
    used += cost;
    count++;
  }
  return { count, used };
}

function attributes(
  deleted: readonly ImageIdentifier[],
  failures: readonly ImageFailure[],
  kept: { ids: number; failures: number },
  run: { ran: boolean; dryRun: boolean; keptReferenced: number; keptUnknown: number },
): ResponseData {
  return {
    [ATTRIBUTES.IMAGE_IDS]: JSON.stringify(deleted.slice(0, kept.ids)),
    [ATTRIBUTES.FAILURES]: JSON.stringify(failures.slice(0, kept.failures)),
    [ATTRIBUTES.DELETED_COUNT]: String(deleted.length),
    [ATTRIBUTES.FAILURE_COUNT]: String(failures.length),
    [ATTRIBUTES.TRUNCATED]: String(kept.ids < deleted.length || kept.failures < failures.length),
    [ATTRIBUTES.DELETION_RAN]: String(run.ran),
    [ATTRIBUTES.DRY_RUN]: String(run.dryRun),
    [ATTRIBUTES.KEPT_REFERENCED_COUNT]: String(run.keptReferenced),
    [ATTRIBUTES.KEPT_UNKNOWN_COUNT]: String(run.keptUnknown),
    [ATTRIBUTES.NOT_FOUND_COUNT]: String(failures.filter((f) => f.failureCode === IMAGE_NOT_FOUND).length),
  };
}

/**
 * The image IDs the log line lists: the leading ones that fit in
 * MAX_LOGGED_IDS_BYTES, and whether some were left out. For a scheduled run
 * the log is the only report of what went.
 */
export function imageIdsForLog(ids: readonly ImageIdentifier[]): { readonly imageIds: ImageIdentifier[]; readonly cut: boolean } {
  const { count } = fit(ids, MAX_LOGGED_IDS_BYTES);
  return { imageIds: ids.slice(0, count), cut: count < ids.length };
}

function bytesOf(body: ResponseBody): number {
  return Buffer.byteLength(JSON.stringify(body));
}

/** What the reason's cut ends with: the function log has the reason whole. */
export const CUT_MARKER = ' [cut: see the function log]';

/** Bytes a piece of text takes inside a JSON string: UTF-8, with JSON's escapes (a control character or a lone surrogate takes six). */
export function jsonTextBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}

/**
 * The reason, cut to at most `maxBytes` bytes as it sits in the JSON body
 * (escapes counted), with CUT_MARKER when it was cut. Total: it ends for any
 * string and any budget; below the marker's size, the marker itself is cut.
 * Cuts fall between code points, so a surrogate pair is never split.
 */
export function cutReason(reason: string, maxBytes: number = MAX_REASON_BYTES): string {
  const budget = Math.max(0, Math.floor(maxBytes));
  if (jsonTextBytes(reason) <= budget) return reason;
  const markerBytes = jsonTextBytes(CUT_MARKER);
  if (budget < markerBytes) return CUT_MARKER.slice(0, budget);
  let kept = '';
  let used = 0;
  for (const char of reason) {
    const cost = jsonTextBytes(char);
    if (used + cost + markerBytes > budget) break;
    kept += char;
    used += cost;
  }
  return kept + CUT_MARKER;
}

/**
 * Builds the response body, under MAX_RESPONSE_BYTES whatever the outcome.
 * On SUCCESS, `Data` holds every attribute; the lists share the room left by
 * the rest of the body (failures and deleted IDs half each, the unused half
 * going to the other list), counts stay exact and `Truncated` says when a
 * list was cut. On FAILED, CloudFormation reads no attributes, so none are sent.
 */
export function buildResponse(
  base: Omit<ResponseBody, 'Data' | 'Reason'>,
  verdict: Verdict,
  outcome: (Pick<DeletionOutcome, 'deleted' | 'failures'> & Partial<Pick<PlanOutcome, 'dryRun' | 'selection'>>) | undefined,
): ResponseBody {
  const run = {
    ran: outcome !== undefined,
    dryRun: outcome?.dryRun === true,
    keptReferenced: outcome?.selection?.keptReferenced ?? 0,
    keptUnknown: outcome?.selection?.keptUnknown ?? 0,
  };
  const limit = MAX_RESPONSE_BYTES - 1;
  const withReason = (room: number): ResponseBody => ({ ...base, Status: verdict.status, Reason: cutReason(verdict.reason, room) });
  if (verdict.status === 'FAILED') {
    // The room the rest of the body leaves, measured rather than assumed: the IDs come from the event.
    const room = limit - bytesOf({ ...base, Status: verdict.status, Reason: '' });
    return withReason(Math.min(MAX_REASON_BYTES, room));
  }
  const deleted = outcome?.deleted ?? [];
  const failures = outcome?.failures ?? [];
  // Success reasons are short summaries; keep them shorter still so the lists get the room.
  const head = withReason(400);
  const empty = { ...head, Data: attributes(deleted, failures, { ids: 0, failures: 0 }, run) };
  // Room for list items. `costInBody` counts one comma too many per list, which
  // covers `Truncated` growing from "true" to "false" when everything fits.
  const room = Math.max(0, limit - bytesOf(empty));
  const failuresFirst = fit(failures, Math.floor(room / 2));
  const ids = fit(deleted, room - failuresFirst.used);
  const failuresFinal = fit(failures, room - ids.used);
  let kept = { ids: ids.count, failures: failuresFinal.count };
  let body: ResponseBody = { ...head, Data: attributes(deleted, failures, kept, run) };
  // The per-item arithmetic is exact; this loop only guards against a miscount.
  while (bytesOf(body) > limit && (kept.ids > 0 || kept.failures > 0)) {
    kept = kept.ids >= kept.failures ? { ...kept, ids: kept.ids - 1 } : { ...kept, failures: kept.failures - 1 };
    body = { ...head, Data: attributes(deleted, failures, kept, run) };
  }
  return body;
}
