/**
 * The response body: the verdict and the attributes, cut so that the whole
 * body stays under CloudFormation's 4,096-byte limit. Counts are always
 * exact; lists are cut and flagged.
 */
import type { ImageFailure, ImageIdentifier } from '@aws-sdk/client-ecr-public';
import { ATTRIBUTES, ResponseData } from '../lib/contract';
import type { DeletionOutcome } from './execute';
import type { PlanOutcome } from './execute-plan';
import type { Verdict } from './verdict';

/** CloudFormation rejects a custom resource response body of 4,096 bytes or more. */
export const MAX_RESPONSE_BYTES = 4096;
/** Longest reason sent, in bytes: enough to name a few dozen images, short enough to read. */
export const MAX_REASON_BYTES = 2000;

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

/** Bytes an item adds to a list held as JSON text inside the JSON body (escapes included), comma included. */
function costInBody(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(item))) - 2 + 1;
}

/** How many leading items of `items` fit in `budget` bytes, and the bytes they use. */
export function fit(items: readonly unknown[], budget: number): { count: number; used: number } {
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
  deletion: {
    ran: boolean;
    dryRun: boolean;
    keptReferenced: number;
    keptUnknown: number;
    keptReferrers: number;
    keptMoved: number;
    notFound: number;
    ruleCounts: string;
  },
): ResponseData {
  return {
    [ATTRIBUTES.IMAGE_IDS]: JSON.stringify(deleted.slice(0, kept.ids)),
    [ATTRIBUTES.FAILURES]: JSON.stringify(failures.slice(0, kept.failures)),
    [ATTRIBUTES.DELETED_COUNT]: String(deleted.length),
    [ATTRIBUTES.FAILURE_COUNT]: String(failures.length),
    [ATTRIBUTES.TRUNCATED]: String(kept.ids < deleted.length || kept.failures < failures.length),
    [ATTRIBUTES.DELETION_RAN]: String(deletion.ran),
    [ATTRIBUTES.DRY_RUN]: String(deletion.dryRun),
    [ATTRIBUTES.KEPT_REFERENCED_COUNT]: String(deletion.keptReferenced),
    [ATTRIBUTES.KEPT_UNKNOWN_COUNT]: String(deletion.keptUnknown),
    [ATTRIBUTES.KEPT_REFERRER_COUNT]: String(deletion.keptReferrers),
    [ATTRIBUTES.KEPT_MOVED_COUNT]: String(deletion.keptMoved),
    [ATTRIBUTES.NOT_FOUND_COUNT]: String(deletion.notFound),
    [ATTRIBUTES.RULE_COUNTS]: deletion.ruleCounts,
  };
}

/** The `RuleCounts` attribute: priority -> images the rule expired, as JSON text (keys in ascending priority). */
export function ruleCountsOf(rules: ReadonlyArray<{ readonly priority: number; readonly expired: number }>): string {
  return JSON.stringify(Object.fromEntries(rules.map((rule) => [String(rule.priority), rule.expired])));
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
  outcome: (Pick<DeletionOutcome, 'deleted' | 'failures'> & Partial<Pick<PlanOutcome, 'dryRun' | 'selection' | 'notFound' | 'moved'>>) | undefined,
): ResponseBody {
  const deletion = {
    ran: outcome !== undefined,
    dryRun: outcome?.dryRun === true,
    keptReferenced: outcome?.selection?.keptReferenced ?? 0,
    keptUnknown: outcome?.selection?.keptUnknown ?? 0,
    keptReferrers: outcome?.selection?.keptReferrers ?? 0,
    keptMoved: outcome?.moved?.length ?? 0,
    // Declared image IDs only: execute-plan.ts keeps them apart from a selection's.
    notFound: outcome?.notFound?.length ?? 0,
    ruleCounts: ruleCountsOf(outcome?.selection?.rules ?? []),
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
  const empty = { ...head, Data: attributes(deleted, failures, { ids: 0, failures: 0 }, deletion) };
  // Room for list items. `costInBody` counts one comma too many per list, which
  // covers `Truncated` growing from "true" to "false" when everything fits.
  const room = Math.max(0, limit - bytesOf(empty));
  const failuresFirst = fit(failures, Math.floor(room / 2));
  const ids = fit(deleted, room - failuresFirst.used);
  const failuresFinal = fit(failures, room - ids.used);
  let kept = { ids: ids.count, failures: failuresFinal.count };
  let body: ResponseBody = { ...head, Data: attributes(deleted, failures, kept, deletion) };
  // The per-item arithmetic is exact; this loop only guards against a miscount.
  while (bytesOf(body) > limit && (kept.ids > 0 || kept.failures > 0)) {
    kept = kept.ids >= kept.failures ? { ...kept, ids: kept.ids - 1 } : { ...kept, failures: kept.failures - 1 };
    body = { ...head, Data: attributes(deleted, failures, kept, deletion) };
  }
  return body;
}
