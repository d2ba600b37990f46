/**
 * Execute: the BatchDeleteImage calls of one list of image IDs. Batching (at
 * most 100 IDs a call), the calls in flight (a window shared by the event,
 * delete-window.ts: it grows while ECR Public answers at once, halves when it
 * throttles), and a deadline. Retries of throttling and 5xx answers are the
 * SDK's (standard retry strategy, see client.ts). What to delete, round after
 * round, is decided in execute-plan.ts.
 */
import { BatchDeleteImageCommand, ECRPUBLICClient, ImageFailure, ImageIdentifier, RepositoryNotFoundException } from '@aws-sdk/client-ecr-public';
import { MAX_IDS_PER_CALL, WireImageId } from '../lib/contract';
import { DeleteWindow } from './delete-window';

export { DEFAULT_CONCURRENCY, MAX_DELETE_CONCURRENCY } from './delete-window';

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
  /** Calls in flight, fixed (tests, benchmarks' baselines). @default - the window's: adapted to throttling */
  readonly concurrency?: number;
  /** The event's window of calls in flight, shared by its deletions. @default - one of this call's own */
  readonly window?: DeleteWindow;
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
 * Deletes the image IDs in batches, as many calls in flight as the window
 * allows, sent in order. Per-image failures are collected, not thrown: the
 * caller decides what they mean. A RepositoryNotFoundException stops the work
 * and is reported in the outcome; any other error stops the work and is
 * thrown once the calls in flight have settled.
 */
export async function deleteImages(client: ECRPUBLICClient, request: DeletionRequest, options: ExecuteOptions = {}): Promise<DeletionOutcome> {
  const started = Date.now();
  const batches = toBatches(request.imageIds);
  const progress = options.progress ?? newProgress();
  progress.batchesTotal += batches.length;
  const window = options.window ?? new DeleteWindow(options.concurrency !== undefined ? { fixed: options.concurrency } : {});
  const results: Array<{ deleted: ImageIdentifier[]; failures: ImageFailure[] } | undefined> = new Array(batches.length);
  let calls = 0;
  let repositoryMissing = false;
  let firstError: unknown;
  const stopped = () => repositoryMissing || firstError !== undefined;

  const send = async (index: number): Promise<void> => {
    const ticket = await window.acquire();
    if (stopped()) return window.failed(ticket);
    try {
      const answer = await client.send(
        new BatchDeleteImageCommand({ repositoryName: request.repositoryName, registryId: request.registryId, imageIds: batches[index] }),
        { abortSignal: options.signal },
      );
      window.answered(ticket, (answer.$metadata?.attempts ?? 1) > 1);
      calls++;
      results[index] = { deleted: answer.imageIds ?? [], failures: answer.failures ?? [] };
      progress.batchesDone++;
      progress.deleted += results[index].deleted.length;
      progress.deletedIds.push(...results[index].deleted);
    } catch (error) {
      window.failed(ticket);
      if (error instanceof RepositoryNotFoundException) {
        repositoryMissing = true;
      } else if (firstError === undefined) {
        firstError = error;
      }
    }
  };
  await Promise.all(batches.map((_, index) => send(index)));

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
