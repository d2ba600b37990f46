/**
 * Execute: the BatchDeleteImage calls. Batching (at most 100 IDs a call), a
 * fixed number of calls in flight, and a deadline. Retries of throttling and
 * 5xx answers are the SDK's (standard retry strategy, see client.ts).
 */
import { BatchDeleteImageCommand, ECRPUBLICClient, ImageFailure, ImageIdentifier, RepositoryNotFoundException } from '@aws-sdk/client-ecr-public';
import { IMAGE_REFERENCED_BY_MANIFEST_LIST, MAX_IDS_PER_CALL, WireImageId } from '../lib/contract';
import { imageIdKey } from '../lib/validation';
import { listImages } from './list';
import type { DeletePlan } from './plan';
import { ManifestReader, REGISTRY_ENDPOINT_ENV, openRegistry, registryLocation, repositoryUriOf } from './registry';
import { ReferenceRead, isIndex, selectImages } from './select';

/**
 * Calls in flight at once. ECR Public publishes no rate quota for
 * BatchDeleteImage; its published request-rate quotas (public-service-quotas)
 * cover push and authentication APIs, the lowest at 10 per second. Four calls
 * in flight send 4 / latency calls a second (about 13 at 300 ms each), 400
 * images at a time; should ECR Public throttle, the SDK backs off and retries.
 * bench/RESULTS.md: 10,000 images in 0.9 of the time this bound allows.
 */
export const DEFAULT_CONCURRENCY = 4;

export interface DeletionRequest {
  readonly repositoryName: string;
  readonly registryId?: string;
  readonly imageIds: readonly WireImageId[];
}

export interface DeletionOutcome {
  /** Image IDs the API reported deleted, in the order the batches were sent. */
  readonly deleted: ImageIdentifier[];
  /** Per-image failures the API reported, `ImageNotFound` included. */
  readonly failures: ImageFailure[];
  /** True when the API answered RepositoryNotFoundException; no image was deleted then. */
  readonly repositoryMissing: boolean;
  /** BatchDeleteImage calls that returned an answer. */
  readonly calls: number;
}

/** How far a deletion got; updated as batches are answered, read when time runs out. */
export interface DeletionProgress {
  batchesTotal: number;
  batchesDone: number;
  deleted: number;
  /**
   * The image IDs ECR Public reported deleted so far, kept as batches are
   * answered: when the event then fails (throttling after the last attempt,
   * the deadline), this is the record of what went.
   */
  readonly deletedIds: ImageIdentifier[];
}

/** A progress record that nothing has happened to yet. */
export function newProgress(): DeletionProgress {
  return { batchesTotal: 0, batchesDone: 0, deleted: 0, deletedIds: [] };
}

export interface ExecuteOptions {
  readonly concurrency?: number;
  /** Aborted when the handler must stop calling ECR Public and answer CloudFormation. */
  readonly signal?: AbortSignal;
  /** Kept up to date while the deletion runs. */
  readonly progress?: DeletionProgress;
}

/** The deadline passed before ECR Public answered every batch. */
export class DeadlineExceededError extends Error {
  constructor(
    readonly progress: Readonly<DeletionProgress>,
    waitedMs: number,
  ) {
    super(
      `timed out after ${Math.round(waitedMs / 1000)} s waiting for ECR Public BatchDeleteImage: ` +
        `${progress.batchesDone} of ${progress.batchesTotal} batches answered (${progress.deleted} image IDs deleted) ` +
        'before the handler had to answer CloudFormation',
    );
    this.name = 'DeadlineExceededError';
  }
}

/** Splits a list into consecutive batches of at most `size`. */
export function toBatches<T>(items: readonly T[], size: number = MAX_IDS_PER_CALL): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    batches.push(items.slice(i, i + size));
  }
  return batches;
}

/**
 * Deletes the image IDs in batches, at most `concurrency` calls in flight.
 * Per-image failures are collected, not thrown: the caller decides what they
 * mean. A RepositoryNotFoundException stops the work and is reported in the
 * outcome; any other error stops the work and is thrown once the calls in
 * flight have settled.
 */
export async function deleteImages(client: ECRPUBLICClient, request: DeletionRequest, options: ExecuteOptions = {}): Promise<DeletionOutcome> {
  const started = Date.now();
  const batches = toBatches(request.imageIds);
  const progress = options.progress ?? newProgress();
  progress.batchesTotal += batches.length;
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const results: Array<{ deleted: ImageIdentifier[]; failures: ImageFailure[] } | undefined> = new Array(batches.length);
  let next = 0;
  let calls = 0;
  let repositoryMissing = false;
  let firstError: unknown;

  const worker = async (): Promise<void> => {
    while (next < batches.length && !repositoryMissing && firstError === undefined) {
      const index = next++;
      try {
        const answer = await client.send(
          new BatchDeleteImageCommand({
            repositoryName: request.repositoryName,
            registryId: request.registryId,
            imageIds: batches[index],
          }),
          { abortSignal: options.signal },
        );
        calls++;
        results[index] = { deleted: answer.imageIds ?? [], failures: answer.failures ?? [] };
        progress.batchesDone++;
        progress.deleted += results[index].deleted.length;
        progress.deletedIds.push(...results[index].deleted);
      } catch (error) {
        if (error instanceof RepositoryNotFoundException) {
          repositoryMissing = true;
        } else if (firstError === undefined) {
          firstError = error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));

  const answered = results.filter((r) => r !== undefined);
  const deleted = answered.flatMap((r) => r.deleted);
  if (firstError !== undefined) {
    if (options.signal?.aborted) {
      throw new DeadlineExceededError(progress, Date.now() - started);
    }
    throw firstError;
  }
  return { deleted, failures: answered.flatMap((r) => r.failures), repositoryMissing, calls };
}

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
  };
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
  const run = (imageIds: WireImageId[]): Promise<DeletionOutcome> =>
    imageIds.length === 0
      ? Promise.resolve(NOTHING)
      : plan.dryRun
        ? Promise.resolve({ ...NOTHING, deleted: imageIds })
        : deleteImages(client, { repositoryName, registryId, imageIds }, options);

  let outcome = await run(plan.imageIds);
  if (!plan.selection || outcome.repositoryMissing) {
    return { ...outcome, tolerated: [], dryRun: plan.dryRun };
  }

  // One round: list, select, delete pass by pass. Another round runs only when
  // ECR Public refused to delete an index (another index referenced it) and the
  // round deleted something, perhaps that other index: an index of indexes
  // empties in a few rounds.
  const tolerated: ImageFailure[] = [];
  let stats: PlanOutcome['selection'];
  // Each index manifest is read once per event, whatever the rounds.
  const references = new Map<string, ReferenceRead>();
  const openReader = options.openReader ?? defaultOpenReader(client, options);
  let reader: Promise<ManifestReader> | undefined;
  let manifestsRead = 0;
  const readReferences = async (digests: string[]): Promise<void> => {
    reader ??= openReader({ repositoryName, registryId });
    let reads: Map<string, ReferenceRead>;
    try {
      reads = await (await reader).read(digests);
    } catch (error) {
      const cause = `registry not reachable: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
      reads = new Map(digests.map((digest) => [digest, { unknown: cause }]));
    }
    manifestsRead += digests.length;
    // Every digest gets an answer, so that the select-read loop ends.
    for (const digest of digests) references.set(digest, reads.get(digest) ?? { unknown: 'the reader gave no answer' });
  };
  for (let round = 1; round <= MAX_SELECTION_ROUNDS; round++) {
    let listing;
    try {
      listing = await listImages(client, { repositoryName, registryId }, options.signal);
    } catch (error) {
      if (error instanceof RepositoryNotFoundException) {
        return { ...outcome, repositoryMissing: true, tolerated, dryRun: plan.dryRun, selection: stats };
      }
      throw error;
    }
    const nowMs = (options.now ?? Date.now)();
    let selected = selectImages(listing.images, plan.selection, nowMs, references);
    while (selected.needs.length > 0) {
      await readReferences(selected.needs);
      selected = selectImages(listing.images, plan.selection, nowMs, references);
    }
    stats ??= {
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
    };
    // Only a refused index can be freed by this round's deletions (an index of
    // indexes); a refused platform image belongs to a kept index and stays refused.
    const indexIds = new Set(listing.images.filter(isIndex).flatMap((image) => [image.digest, ...image.tags]));
    let indexesRefused = 0;
    let deleted = 0;
    for (const pass of selected.passes) {
      const passOutcome = await run(pass);
      const refusals = passOutcome.failures.filter((failure) => failure.failureCode === IMAGE_REFERENCED_BY_MANIFEST_LIST);
      tolerated.push(...refusals);
      indexesRefused += refusals.filter((f) => indexIds.has(f.imageId?.imageDigest ?? '') || indexIds.has(f.imageId?.imageTag ?? '')).length;
      deleted += passOutcome.deleted.length;
      outcome = merge(outcome, passOutcome);
      if (outcome.repositoryMissing) break;
    }
    if (plan.dryRun || outcome.repositoryMissing || indexesRefused === 0 || deleted === 0) break;
  }
  // A refusal retried in a later round is reported once, and not at all if the retry deleted the image.
  // A deleted ID comes back with its digest and tag; a refusal names either, so both count.
  const deletedKeys = new Set(
    outcome.deleted.flatMap((id) => [imageIdKey(id), imageIdKey({ imageDigest: id.imageDigest }), imageIdKey({ imageTag: id.imageTag })]),
  );
  const seen = new Set<string>();
  const settle = (failure: ImageFailure): boolean => {
    if (failure.failureCode !== IMAGE_REFERENCED_BY_MANIFEST_LIST) return true;
    const key = imageIdKey(failure.imageId ?? {});
    if (deletedKeys.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  const failures = outcome.failures.filter(settle);
  const toleratedSet = new Set(tolerated);
  return { ...outcome, failures, tolerated: failures.filter((f) => toleratedSet.has(f)), dryRun: plan.dryRun, selection: stats };
}
