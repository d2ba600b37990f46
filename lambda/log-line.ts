/**
 * The one structured log line each event writes: what it did, and which image
 * IDs went, as many as a log line holds. For a scheduled run the log is the
 * only report of what went.
 */
import type { ImageIdentifier } from '@aws-sdk/client-ecr-public';
import type { ExpiredImage } from './execute-plan';
import type { EventResult } from './index';
import { fit } from './response';
import { formatImageId } from './verdict';

/** Most bytes of image IDs the log line lists: CloudWatch Logs takes events of up to 256 KB. */
export const MAX_LOGGED_IDS_BYTES = 128 * 1024;

/** Most bytes of kept images (each with its reason) the log line lists: what is left of 256 KB, with room for the rest. */
export const MAX_LOGGED_KEPT_BYTES = 64 * 1024;

/**
 * The image IDs the log line lists: the leading ones that fit in
 * MAX_LOGGED_IDS_BYTES, and whether some were left out. For a scheduled run
 * the log is the only report of what went.
 */
export function imageIdsForLog(ids: readonly ImageIdentifier[]): { readonly imageIds: ImageIdentifier[]; readonly cut: boolean } {
  const { count } = fit(ids, MAX_LOGGED_IDS_BYTES);
  return { imageIds: ids.slice(0, count), cut: count < ids.length };
}

/**
 * The deleted image IDs, each with the priority of the rule that expired its
 * image (`rule`), by digest (a lifecycle policy deletes images by digest).
 * An ID no rule expired (a declared one) is left as it is.
 */
export function withRules(ids: readonly ImageIdentifier[], expired: readonly ExpiredImage[]): Array<ImageIdentifier & { rule?: number }> {
  const ruleOf = new Map(expired.map((image) => [image.imageDigest, image.rule]));
  return ids.map((id) => {
    const rule = id.imageDigest === undefined ? undefined : ruleOf.get(id.imageDigest);
    return rule === undefined ? id : { ...id, rule };
  });
}

/** Who asked for the event's work (a lifecycle event or a scheduled tick), as the log line names it. */
export interface Trigger {
  readonly requestType: unknown;
  readonly logicalResourceId: unknown;
  /** The properties as received, for the repository's name when they did not validate. */
  readonly properties: unknown;
}

/** The one structured log line of an event. It never holds the ResponseURL, a credential. */
export function logEventLine(
  trigger: Trigger,
  { plan, outcome, verdict, teardown }: EventResult,
  started: number,
  truncated: boolean,
  stackStatus?: string,
): void {
  const deletion = plan?.action === 'delete' ? plan : undefined;
  const { kept: keptAll = [], expired = [], ...selection } = outcome?.selection ?? {};
  // A lifecycle policy's preview: each image with the rule that expires (or keeps) it. An ImageSelection is one rule.
  const byRule = deletion?.selection?.Match === 'lifecycle';
  const listed = imageIdsForLog(byRule ? withRules(outcome?.deleted ?? [], expired) : (outcome?.deleted ?? []));
  const kept = byRule ? keptAll : keptAll.map(({ rule: _rule, ...image }) => image);
  const keptCount = fit(kept, MAX_LOGGED_KEPT_BYTES).count;
  const notFound = imageIdsForLog(outcome?.notFound ?? []);
  const moved = imageIdsForLog(outcome?.moved ?? []);
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
      selection: outcome?.selection ? selection : undefined,
      deleted: outcome?.deleted.length ?? 0,
      failures: outcome?.failures.length ?? 0,
      calls: outcome?.calls ?? 0,
      truncated,
      durationMs: Date.now() - started,
      reason: verdict.reason,
      teardown: teardown ? { empties: teardown.empties, declaredIdsGo: teardown.declaredIdsGo, why: teardown.why } : undefined,
      stackStatus,
      // What went (in a dry run: what would have), as much as a log line holds; under a lifecycle policy, each with
      // the priority of the rule that expires its image (`rule`).
      deletedImageIds: listed.imageIds,
      deletedImageIdsCut: listed.cut,
      // Declared images that ECR Public did not find: already gone, or a typo.
      notFound: notFound.imageIds.map(formatImageId),
      notFoundCut: notFound.cut,
      // Tags the selection kept because they moved to another image during the event.
      moved: moved.imageIds.map(formatImageId),
      movedCut: moved.cut,
      // What the selection covered but kept, image by image, and why (protected, newest, referenced, referrer, unknown).
      keptImages: outcome?.selection ? kept.slice(0, keptCount) : undefined,
      keptImagesCut: outcome?.selection ? keptCount < kept.length : undefined,
    }),
  );
}
