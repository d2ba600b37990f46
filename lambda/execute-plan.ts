/**
 * Execute a plan: the declared image IDs, then the selection's rounds (list,
 * read manifests, select, delete pass by pass), with the bookkeeping of what
 * ECR Public answers: refusals for images a kept manifest list references,
 * tags that moved to another image during the event, and any other failure,
 * after which the image that stayed keeps what it needs. The calls themselves
 * are execute.ts's; every decision is select.ts's.
 */
import { ECRPUBLICClient, ImageFailure, ImageIdentifier, RepositoryNotFoundException } from '@aws-sdk/client-ecr-public';
import { IMAGE_NOT_FOUND, IMAGE_TAG_DOES_NOT_MATCH_DIGEST, WireImageId, WireSelection } from '../lib/contract';
import { imageIdKey } from '../lib/validation';
import { DeleteWindow } from './delete-window';
import { DeletionOutcome, ExecuteOptions, deleteImages } from './execute';
import { isReferencedRefusal } from './failure-tolerance';
import { clientFor } from './client';
import { ListedImage, RepositoryListing, listRepository } from './list';
import { listingAfter } from './listing-after';
import { ManifestReads, ManifestReadsReport } from './manifest-reads';
import { selectWithWhatIsKnown } from './partial-selection';
import type { DeletePlan } from './plan';
import { readOrder } from './read-order';
import type { ReferenceCache } from './reference-cache';
import { openStackReferenceCache } from './reference-cache-loader';
import { AUTHORIZATION_TOKEN_REGION, fetchRegistryCredentials } from './registry-auth';
import { ManifestReader, REGISTRY_ENDPOINT_ENV, openRegistry, registryLocation, repositoryUriOf } from './registry';
import { KeptReason, RuleReport, SelectionResult, isIndex } from './select';
import { currentDigests } from './tag-check';

/** What a whole plan did: declared IDs, then the selection's passes. */
export interface PlanOutcome extends DeletionOutcome {
  /**
   * Failures a selection expects and tolerates: images that a kept manifest
   * list still references, which ECR Public refuses to delete. Also in `failures`.
   */
  readonly tolerated: ImageFailure[];
  /** True when nothing was deleted: `deleted` lists what would have been. */
  readonly dryRun: boolean;
  /** Declared image IDs that ECR Public did not find (ImageNotFound): already gone, or never there. */
  readonly notFound: ImageIdentifier[];
  /**
   * Tags a selection asked to remove that had moved to another image since
   * the listing (ECR Public answered ImageTagDoesNotMatchDigest): the tag and
   * the image just pushed stay. Reported here, never in `failures`.
   */
  readonly moved: ImageIdentifier[];
  /** The selection's view of the repository, when a selection ran. */
  readonly selection?: {
    readonly listed: number;
    readonly pages: number;
    readonly matched: number;
    readonly keptNewest: number;
    readonly keptProtected: number;
    /** Images kept because an index that stays references them. */
    readonly keptReferenced: number;
    /** Images kept because they are referrers (signatures, SBOMs, attestations) of an image that stays. */
    readonly keptReferrers: number;
    /** Images kept because a manifest could not be read. */
    readonly keptUnknown: number;
    /** Images kept because the tag the selection named moved to another image during the event. */
    readonly keptMoved: number;
    /**
     * The manifests the selection needed (indexes, and untagged images for their subject): from the reference
     * cache, from the registry, left for the next event; how the registry was read (access, pace, 429s).
     */
    readonly reads: ManifestReadsReport;
    /**
     * When manifests the decision needed were not read (the read budget ran out, or the registry would not
     * say): the decision was proved on the images pushed after this time (ISO 8601), `images` of them, and the
     * others kept (partial-selection.ts).
     */
    readonly provenAfter?: { readonly pushedAfter: string; readonly images: number };
    /** Manifests that could not be read. */
    readonly unknownCount: number;
    /** Why manifests could not be read (the first few, each with its digest). */
    readonly unknownCauses: string[];
    /** Each image the selection covered but kept, and why (the counts above, image by image). */
    readonly kept: KeptImage[];
    /** Per rule, by priority: the images it selected, expired and kept (an ImageSelection is one rule, priority 1). */
    readonly rules: RuleReport[];
    /** Each image the selection deletes or takes tags from (in a dry run: would), with the rule that expires it. */
    readonly expired: ExpiredImage[];
  };
}

/** An image a selection deletes or takes tags from, as the log line names it. */
export interface ExpiredImage {
  readonly imageDigest: string;
  readonly imageTags: string[];
  /** The priority of the rule that expires it (or the image it is part of). */
  readonly rule: number;
}

/** An image a selection covered but kept, as the log line names it. */
export interface KeptImage {
  readonly imageDigest: string;
  readonly imageTags: string[];
  readonly reason: KeptReason;
  /** With reason 'referenced': the kept index that references it. */
  readonly referencedBy?: string;
  /** With reason 'referrer': the image that stays, whose signature, SBOM or attestation it is. */
  readonly subject?: string;
  /** With reason 'protected' or 'newest': the priority of the rule that kept it. */
  readonly rule?: number;
  /** With reason 'protected' or 'newest', for a platform image, attestation or referrer: the top-level image (index) it is part of. */
  readonly partOf?: string;
}

/** Opens the registry reader of a repository. */
export type OpenReader = (request: { readonly repositoryName: string; readonly registryId?: string }) => Promise<ManifestReader>;

export interface PlanOptions extends ExecuteOptions {
  readonly now?: () => number;
  /** How the selection reads manifests; default: the repository's URI from DescribeRepositories, then its public registry. */
  readonly openReader?: OpenReader;
  /** The reference cache; default: the stack's (REFERENCE_CACHE_TABLE), loaded on first use. */
  readonly openCache?: () => ReferenceCache;
  /** Epoch milliseconds past which no manifest read starts: what is unread by then is unknown, and kept. */
  readonly readDeadline?: number;
  /** Epoch milliseconds past which the reference cache is not called. @default none */
  readonly workDeadline?: number;
}

/** Causes of unreadable manifests the log line lists at most. */
const MAX_CAUSES_LOGGED = 5;

/**
 * The default reader: DescribeRepositories for the URI (ECR_PUBLIC_REGISTRY_ENDPOINT for local registries),
 * authenticated with GetAuthorizationToken (served in us-east-1 only, whatever the API region), paced at the
 * deletion's registryReadsPerSecond.
 */
function defaultOpenReader(client: ECRPUBLICClient, plan: DeletePlan, options: PlanOptions): OpenReader {
  const configured = plan.properties.RegistryReadsPerSecond;
  return async ({ repositoryName, registryId }) => {
    const uri = await repositoryUriOf(client, repositoryName, registryId, options.signal);
    return openRegistry(registryLocation(uri, process.env[REGISTRY_ENDPOINT_ENV] || undefined), {
      deadline: options.readDeadline ?? Number.POSITIVE_INFINITY,
      signal: options.signal,
      readsPerSecond: configured === undefined ? undefined : Number(configured),
      credentials: () => fetchRegistryCredentials(clientFor(AUTHORIZATION_TOKEN_REGION), options.signal),
    });
  };
}

/** A decision, and where it was proved when some manifests it needed are unknown. */
type Selected = ReturnType<typeof selectWithWhatIsKnown>;

/** Most list-select-delete rounds one event runs (see executePlan). */
export const MAX_SELECTION_ROUNDS = 3;

const NOTHING: DeletionOutcome = { deleted: [], failures: [], repositoryMissing: false, calls: 0 };

function merge(a: DeletionOutcome, b: DeletionOutcome): DeletionOutcome {
  return {
    deleted: [...a.deleted, ...b.deleted],
    failures: [...a.failures, ...b.failures],
    repositoryMissing: a.repositoryMissing || b.repositoryMissing,
    calls: a.calls + b.calls,
  };
}

/**
 * Runs a plan: the declared image IDs first, then the selection, evaluated on
 * the listing taken after them, pass by pass. A dry run lists and selects but
 * deletes nothing, and reports what it would have deleted: it selects on the
 * listing as the real run would see it, the declared IDs applied
 * (listing-after.ts), so that both make the same decision.
 */
export async function executePlan(client: ECRPUBLICClient, plan: DeletePlan, options: PlanOptions = {}): Promise<PlanOutcome> {
  const { RepositoryName: repositoryName, RegistryId: registryId } = plan.properties;
  // One window of calls in flight for every deletion of the event (delete-window.ts), unless the caller fixes it.
  const deleting: ExecuteOptions = { ...options, window: options.window ?? (options.concurrency === undefined ? new DeleteWindow() : undefined) };
  // A dry run reports what it would delete, and calls nothing.
  const deleteOrPretend = (imageIds: WireImageId[]): Promise<DeletionOutcome> =>
    imageIds.length === 0
      ? Promise.resolve(NOTHING)
      : plan.dryRun
        ? Promise.resolve({ ...NOTHING, deleted: imageIds })
        : deleteImages(client, { repositoryName, registryId, imageIds }, deleting);

  /**
   * A pass without the tags it would remove by name alone that no longer name the image the listing gave (moved
   * by a push during the event: the image just pushed keeps its tag). select.ts sends a tag by name alone only
   * from an image that keeps other tags; the others carry their digest, and ECR Public checks them itself.
   */
  const withoutMovedTags = async (
    pass: WireImageId[],
    listed: readonly ListedImage[],
  ): Promise<{ toSend: WireImageId[]; movedBefore: ImageIdentifier[] }> => {
    const byName = pass.filter((id) => id.imageTag !== undefined && id.imageDigest === undefined).map((id) => id.imageTag as string);
    if (byName.length === 0) return { toSend: pass, movedBefore: [] };
    const listedDigest = new Map(listed.flatMap((image) => image.tags.map((tag) => [tag, image.digest] as const)));
    const now = await currentDigests(client, { repositoryName, registryId, tags: byName }, options.signal);
    const movedBefore = byName.filter((tag) => now.get(tag) !== undefined && now.get(tag) !== listedDigest.get(tag));
    return {
      toSend: pass.filter((id) => !(id.imageDigest === undefined && id.imageTag !== undefined && movedBefore.includes(id.imageTag))),
      movedBefore: movedBefore.map((imageTag) => ({ imageTag, imageDigest: listedDigest.get(imageTag) })),
    };
  };

  let outcome = await deleteOrPretend(plan.imageIds);
  const notFound = outcome.failures.filter((f) => f.failureCode === IMAGE_NOT_FOUND).map((f) => f.imageId ?? {});
  const moved: ImageIdentifier[] = [];
  const done = (selection?: PlanOutcome['selection'], tolerated: ImageFailure[] = []): PlanOutcome => {
    const failures = withRefusalsReportedOnce(outcome);
    const toleratedSet = new Set(tolerated);
    return { ...outcome, failures, tolerated: failures.filter((f) => toleratedSet.has(f)), dryRun: plan.dryRun, notFound, moved, selection };
  };
  if (!plan.selection || outcome.repositoryMissing) return done();

  // One round: list, read, select, delete pass by pass. Another round runs only
  // when ECR Public refused to delete an index (another index referenced it)
  // and the round deleted something, perhaps that other index: an index of
  // indexes empties in a few rounds.
  const tolerated: ImageFailure[] = [];
  let stats: Omit<NonNullable<PlanOutcome['selection']>, 'reads' | 'keptMoved'> | undefined;
  const openReader = options.openReader ?? defaultOpenReader(client, plan, options);
  const manifests = new ManifestReads(
    () => openReader({ repositoryName, registryId }),
    options.openCache ?? (() => openStackReferenceCache({ deadline: options.workDeadline, signal: options.signal })),
  );
  const selection = async () => stats && { ...stats, keptMoved: moved.length, reads: await manifests.report() };
  /** Images whose deletion failed (not refused) in this event: they stay, in every pass and round that follows. */
  const failed = new Set<string>();
  for (let round = 1; round <= MAX_SELECTION_ROUNDS; round++) {
    let indexesRefused = 0;
    let deleted = 0;
    /** What a deletion's answer means for the rest of the round: refusals, moved tags, failures (which then stay). */
    const settle = (passOutcome: DeletionOutcome, images: readonly ListedImage[], indexIds: ReadonlySet<string>): string[] => {
      const refusals = passOutcome.failures.filter(isReferencedRefusal);
      const movedHere = passOutcome.failures.filter((f) => f.failureCode === IMAGE_TAG_DOES_NOT_MATCH_DIGEST);
      tolerated.push(...refusals);
      moved.push(...movedHere.map((f) => f.imageId ?? {}));
      indexesRefused += refusals.filter((f) => indexIds.has(f.imageId?.imageDigest ?? '') || indexIds.has(f.imageId?.imageTag ?? '')).length;
      deleted += passOutcome.deleted.length;
      outcome = merge(outcome, { ...passOutcome, failures: passOutcome.failures.filter((f) => !movedHere.includes(f)) });
      for (const failure of passOutcome.failures) {
        const digest = digestOf(failure.imageId, images);
        if (digest !== undefined && !isReferencedRefusal(failure)) failed.add(digest);
      }
      return passOutcome.failures.map((f) => digestOf(f.imageId, images)).filter((digest): digest is string => digest !== undefined);
    };
    // Emptying (every image goes, whatever the listing says): the tagged indexes of each page, the first pass as
    // select.ts orders it, are deleted while the next page is listed; everything else waits for the listing.
    const sent = new Set<string>();
    const early: Array<Promise<DeletionOutcome>> = [];
    const onPage =
      round === 1 && !plan.dryRun && everyImageGoes(plan.selection)
        ? (page: readonly ListedImage[]) => {
            const ids = page.filter((image) => isIndex(image) && image.tags.length > 0).map((image) => ({ imageDigest: image.digest }));
            if (ids.length === 0) return;
            ids.forEach((id) => sent.add(imageIdKey(id)));
            const deletion = deleteOrPretend(ids);
            deletion.catch(() => undefined);
            early.push(deletion);
          }
        : undefined;
    let listing: RepositoryListing;
    try {
      listing = await listRepository(client, { repositoryName, registryId }, options.signal, onPage);
    } catch (error) {
      await Promise.allSettled(early);
      if (error instanceof RepositoryNotFoundException) {
        outcome = { ...outcome, repositoryMissing: true };
        return done(await selection(), tolerated);
      }
      throw error;
    }
    const images = plan.dryRun ? listingAfter(listing.images, plan.imageIds) : listing.images;
    // Only a refused index can be freed by this round's deletions (an index of
    // indexes); a refused platform image belongs to a kept index and stays refused.
    const indexIds = new Set(images.filter(isIndex).flatMap((image) => [image.digest, ...image.tags]));
    for (const deletion of await Promise.all(early)) settle(deletion, images, indexIds);
    if (outcome.repositoryMissing) return done(await selection(), tolerated);
    const nowMs = (options.now ?? Date.now)();
    /**
     * Images that stay this round: those whose deletion failed, those refused (a refused index is retried in the
     * next round only), and the image a moved tag now names (pushed during the event: never selected by it).
     */
    const movedTags = new Set(moved.map((id) => id.imageTag));
    const survivors = new Set([...failed, ...images.filter((image) => image.tags.some((tag) => movedTags.has(tag))).map((image) => image.digest)]);
    // The manifests the decision needs, newest first (read-order.ts): what the read budget leaves unread is
    // unknown, and the decision is proved where that cannot matter (partial-selection.ts).
    const select = async (): Promise<Selected> => {
      let selected = selectWithWhatIsKnown(images, plan.selection!, nowMs, manifests.known, { survivors });
      while (selected.needs.length > 0) {
        await manifests.read(readOrder(images, selected.needs));
        selected = selectWithWhatIsKnown(images, plan.selection!, nowMs, manifests.known, { survivors });
      }
      return selected;
    };
    let selected = await select();
    for (let pass = nextPass(selected, sent); pass.length > 0; pass = nextPass(selected, sent)) {
      for (const id of pass) sent.add(imageIdKey(id));
      const { toSend, movedBefore } = plan.dryRun ? { toSend: pass, movedBefore: [] } : await withoutMovedTags(pass, images);
      moved.push(...movedBefore);
      const stayed = settle(await deleteOrPretend(toSend), images, indexIds);
      if (outcome.repositoryMissing) break;
      // Whatever made an image stay, it keeps what it needs in the passes that follow.
      if (stayed.some((digest) => !survivors.has(digest))) {
        stayed.forEach((digest) => survivors.add(digest));
        selected = await select();
      }
    }
    if (round === 1) stats = selectionStats(listing, selected);
    if (plan.dryRun || outcome.repositoryMissing || indexesRefused === 0 || deleted === 0) break;
  }
  return done(await selection(), tolerated);
}

/**
 * Whether a selection deletes every image of the repository whatever the listing says (emptying: allImages(), not
 * narrowed): then nothing stays that could need an image, and the first pass (the tagged indexes) can go while the
 * listing goes on. Every other selection waits for the whole listing: whether an image may go depends on the others.
 */
export function everyImageGoes(selection: WireSelection | undefined): boolean {
  return (
    selection?.Match === 'all' &&
    (selection.ProtectTags ?? []).length === 0 &&
    selection.OlderThanSeconds === undefined &&
    selection.KeepNewest === undefined
  );
}

/** The IDs of the first pass with some not sent yet, without those sent: passes are decided again after each. */
function nextPass(selected: SelectionResult, sent: ReadonlySet<string>): WireImageId[] {
  for (const pass of selected.passes) {
    const left = pass.filter((id) => !sent.has(imageIdKey(id)));
    if (left.length > 0) return left;
  }
  return [];
}

/** The digest of the image a failure names: its digest, or the listed image its tag was on. */
function digestOf(id: ImageIdentifier | undefined, listing: readonly ListedImage[]): string | undefined {
  if (id?.imageDigest !== undefined) return id.imageDigest;
  return id?.imageTag === undefined ? undefined : listing.find((image) => image.tags.includes(id.imageTag as string))?.digest;
}

/** The selection's view of the repository, from the first round. */
function selectionStats(listing: RepositoryListing, selected: Selected): Omit<NonNullable<PlanOutcome['selection']>, 'reads' | 'keptMoved'> {
  return {
    listed: listing.images.length,
    pages: listing.pages,
    matched: selected.matched,
    keptNewest: selected.keptNewest,
    keptProtected: selected.keptProtected,
    keptReferenced: selected.keptReferenced,
    keptReferrers: selected.keptReferrers,
    keptUnknown: selected.keptUnknown,
    ...(selected.slice ? { provenAfter: { pushedAfter: new Date(selected.slice.after).toISOString(), images: selected.slice.images } } : {}),
    unknownCount: selected.unknown.length,
    unknownCauses: selected.unknown.slice(0, MAX_CAUSES_LOGGED).map(({ digest, cause }) => `${digest}: ${cause}`),
    kept: listing.images
      .filter((image) => selected.kept.has(image.digest))
      .map((image) => {
        const reason = selected.kept.get(image.digest) as KeptReason;
        const by = reason === 'referenced' ? selected.referencedBy.get(image.digest) : undefined;
        const subject = reason === 'referrer' ? selected.referrerOf.get(image.digest) : undefined;
        const rule = selected.keptBy.get(image.digest);
        const partOf = selected.partOf.get(image.digest);
        return {
          imageDigest: image.digest,
          imageTags: [...image.tags],
          reason,
          ...(by !== undefined ? { referencedBy: by } : {}),
          ...(subject !== undefined ? { subject } : {}),
          ...(rule !== undefined ? { rule } : {}),
          ...(partOf !== undefined ? { partOf } : {}),
        };
      }),
    rules: [...selected.rules],
    expired: listing.images
      .filter((image) => selected.expiredBy.has(image.digest))
      .map((image) => ({ imageDigest: image.digest, imageTags: [...image.tags], rule: selected.expiredBy.get(image.digest) as number })),
  };
}

/**
 * The failures to report: a refusal retried in a later round is reported
 * once, and not at all if the retry deleted the image. A deleted ID comes
 * back with its digest and tag; a refusal names either, so both count.
 */
function withRefusalsReportedOnce(outcome: DeletionOutcome): ImageFailure[] {
  const deletedKeys = new Set(
    outcome.deleted.flatMap((id) => [imageIdKey(id), imageIdKey({ imageDigest: id.imageDigest }), imageIdKey({ imageTag: id.imageTag })]),
  );
  const seen = new Set<string>();
  return outcome.failures.filter((failure) => {
    if (!isReferencedRefusal(failure)) return true;
    const key = imageIdKey(failure.imageId ?? {});
    if (deletedKeys.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
