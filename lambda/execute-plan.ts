/**
 * Execute a plan: the declared image IDs, then the selection's rounds (list,
 * select, read index manifests, delete pass by pass), with the bookkeeping of
 * the refusals ECR Public gives for images a kept manifest list references.
 * The calls themselves are execute.ts's.
 */
import { ECRPUBLICClient, ImageFailure, RepositoryNotFoundException } from '@aws-sdk/client-ecr-public';
import { WireImageId } from '../lib/contract';
import { imageIdKey } from '../lib/validation';
import { DeletionOutcome, ExecuteOptions, deleteImages } from './execute';
import { isReferencedRefusal } from './failure-tolerance';
import { RepositoryListing, listRepository } from './list';
import type { DeletePlan } from './plan';
import { ManifestReader, REGISTRY_ENDPOINT_ENV, openRegistry, registryLocation, repositoryUriOf } from './registry';
import { KeptReason, ReferenceRead, SelectionResult, isIndex, selectImages } from './select';

/** What a whole plan did: declared IDs, then the selection's passes. */
export interface PlanOutcome extends DeletionOutcome {
  /**
   * Failures a selection expects and tolerates: images that a kept manifest
   * list still references, which ECR Public refuses to delete. Also in `failures`.
   */
  readonly tolerated: ImageFailure[];
  /** True when nothing was deleted: `deleted` lists what would have been. */
  readonly dryRun: boolean;
  /** The selection's view of the repository, when a selection ran. */
  readonly selection?: {
    readonly listed: number;
    readonly pages: number;
    readonly matched: number;
    readonly keptNewest: number;
    readonly keptProtected: number;
    /** Images kept because an index this event keeps references them. */
    readonly keptReferenced: number;
    /** Images kept because the manifest of an index could not be read. */
    readonly keptUnknown: number;
    /** Index manifests read from the registry. */
    readonly manifestsRead: number;
    /** Index manifests that could not be read. */
    readonly unknownCount: number;
    /** Why manifests could not be read (the first few, each with its digest). */
    readonly unknownCauses: string[];
    /** Each image the selection covered but kept, and why (the counts above, image by image). */
    readonly kept: KeptImage[];
  };
}

/** An image a selection covered but kept, as the log line names it. */
export interface KeptImage {
  readonly imageDigest: string;
  readonly imageTags: string[];
  readonly reason: KeptReason;
  /** With reason 'referenced': the kept index that references it. */
  readonly referencedBy?: string;
}

/** Opens the registry reader of a repository. */
export type OpenReader = (request: { readonly repositoryName: string; readonly registryId?: string }) => Promise<ManifestReader>;

export interface PlanOptions extends ExecuteOptions {
  readonly now?: () => number;
  /** How the selection reads index manifests; default: the repository's URI from DescribeRepositories, then its public registry. */
  readonly openReader?: OpenReader;
  /** Epoch milliseconds past which no manifest read starts: what is unread by then is unknown, and kept. */
  readonly readDeadline?: number;
}

/** Causes of unreadable manifests the log line lists at most. */
const MAX_CAUSES_LOGGED = 5;

/** The default reader: DescribeRepositories for the URI, ECR_PUBLIC_REGISTRY_ENDPOINT for local registries. */
function defaultOpenReader(client: ECRPUBLICClient, options: PlanOptions): OpenReader {
  return async ({ repositoryName, registryId }) => {
    const uri = await repositoryUriOf(client, repositoryName, registryId, options.signal);
    return openRegistry(registryLocation(uri, process.env[REGISTRY_ENDPOINT_ENV] || undefined), {
      deadline: options.readDeadline ?? Number.POSITIVE_INFINITY,
      signal: options.signal,
    });
  };
}

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
 * deletes nothing, and reports what it would have deleted.
 */
export async function executePlan(client: ECRPUBLICClient, plan: DeletePlan, options: PlanOptions = {}): Promise<PlanOutcome> {
  const { RepositoryName: repositoryName, RegistryId: registryId } = plan.properties;
  // A dry run reports what it would delete, and calls nothing.
  const deleteOrPretend = (imageIds: WireImageId[]): Promise<DeletionOutcome> =>
    imageIds.length === 0
      ? Promise.resolve(NOTHING)
      : plan.dryRun
        ? Promise.resolve({ ...NOTHING, deleted: imageIds })
        : deleteImages(client, { repositoryName, registryId, imageIds }, options);

  let outcome = await deleteOrPretend(plan.imageIds);
  if (!plan.selection || outcome.repositoryMissing) {
    return { ...outcome, tolerated: [], dryRun: plan.dryRun };
  }

  // One round: list, select, delete pass by pass. Another round runs only when
  // ECR Public refused to delete an index (another index referenced it) and the
  // round deleted something, perhaps that other index: an index of indexes
  // empties in a few rounds.
  const tolerated: ImageFailure[] = [];
  let stats: PlanOutcome['selection'];
  const openReader = options.openReader ?? defaultOpenReader(client, options);
  const indexReferences = new IndexReferences(() => openReader({ repositoryName, registryId }));
  for (let round = 1; round <= MAX_SELECTION_ROUNDS; round++) {
    let listing;
    try {
      listing = await listRepository(client, { repositoryName, registryId }, options.signal);
    } catch (error) {
      if (error instanceof RepositoryNotFoundException) {
        return { ...outcome, repositoryMissing: true, tolerated, dryRun: plan.dryRun, selection: stats };
      }
      throw error;
    }
    const nowMs = (options.now ?? Date.now)();
    let selected = selectImages(listing.images, plan.selection, nowMs, indexReferences.known);
    while (selected.needs.length > 0) {
      await indexReferences.read(selected.needs);
      selected = selectImages(listing.images, plan.selection, nowMs, indexReferences.known);
    }
    stats ??= selectionStats(listing, selected, indexReferences.manifestsRead);
    // Only a refused index can be freed by this round's deletions (an index of
    // indexes); a refused platform image belongs to a kept index and stays refused.
    const indexIds = new Set(listing.images.filter(isIndex).flatMap((image) => [image.digest, ...image.tags]));
    let indexesRefused = 0;
    let deleted = 0;
    for (const pass of selected.passes) {
      const passOutcome = await deleteOrPretend(pass);
      const refusals = passOutcome.failures.filter(isReferencedRefusal);
      tolerated.push(...refusals);
      indexesRefused += refusals.filter((f) => indexIds.has(f.imageId?.imageDigest ?? '') || indexIds.has(f.imageId?.imageTag ?? '')).length;
      deleted += passOutcome.deleted.length;
      outcome = merge(outcome, passOutcome);
      if (outcome.repositoryMissing) break;
    }
    if (plan.dryRun || outcome.repositoryMissing || indexesRefused === 0 || deleted === 0) break;
  }
  const failures = withRefusalsReportedOnce(outcome);
  const toleratedSet = new Set(tolerated);
  return { ...outcome, failures, tolerated: failures.filter((f) => toleratedSet.has(f)), dryRun: plan.dryRun, selection: stats };
}

/**
 * The index manifests read so far, each read once per event whatever the
 * rounds. The registry reader is opened on the first read.
 */
class IndexReferences {
  readonly known = new Map<string, ReferenceRead>();
  manifestsRead = 0;
  private reader: Promise<ManifestReader> | undefined;

  constructor(private readonly openReader: () => Promise<ManifestReader>) {}

  /** Reads the references of these index manifests; an unreadable one is "unknown", with its cause. */
  async read(digests: string[]): Promise<void> {
    this.reader ??= this.openReader();
    let reads: Map<string, ReferenceRead>;
    try {
      reads = await (await this.reader).read(digests);
    } catch (error) {
      const cause = `registry not reachable: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
      reads = new Map(digests.map((digest) => [digest, { unknown: cause }]));
    }
    this.manifestsRead += digests.length;
    // Every digest gets an answer, so that the select-read loop ends.
    for (const digest of digests) this.known.set(digest, reads.get(digest) ?? { unknown: 'the reader gave no answer' });
  }
}

/** The selection's view of the repository, from the first round's listing. */
function selectionStats(listing: RepositoryListing, selected: SelectionResult, manifestsRead: number): NonNullable<PlanOutcome['selection']> {
  return {
    listed: listing.images.length,
    pages: listing.pages,
    matched: selected.matched,
    keptNewest: selected.keptNewest,
    keptProtected: selected.keptProtected,
    keptReferenced: selected.keptReferenced,
    keptUnknown: selected.keptUnknown,
    manifestsRead,
    unknownCount: selected.unknown.length,
    unknownCauses: selected.unknown.slice(0, MAX_CAUSES_LOGGED).map(({ digest, cause }) => `${digest}: ${cause}`),
    kept: listing.images
      .filter((image) => selected.kept.has(image.digest))
      .map((image) => {
        const reason = selected.kept.get(image.digest) as KeptReason;
        const by = reason === 'referenced' ? selected.referencedBy.get(image.digest) : undefined;
        return { imageDigest: image.digest, imageTags: [...image.tags], reason, ...(by !== undefined ? { referencedBy: by } : {}) };
      }),
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
