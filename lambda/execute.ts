/**
 * Execute: the BatchDeleteImage calls of one list of image IDs. Batching (at
 * most 100 IDs a call), a bounded pool of calls in flight, and a deadline.
 * Retries of throttling and 5xx answers are the SDK's (standard retry
 * strategy, see client.ts). What to delete, round after round, is decided in
 * execute-plan.ts.
 */
import { BatchDeleteImageCommand, ECRPUBLICClient, ImageFailure, ImageIdentifier, RepositoryNotFoundException } from '@aws-sdk/client-ecr-public';
import { MAX_IDS_PER_CALL, WireImageId } from '../lib/contract';

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
