/**
 * How many BatchDeleteImage calls an event has in flight: a window that grows
 * while ECR Public answers at once and halves when it throttles, as TCP's
 * congestion window does (additive increase, multiplicative decrease).
 *
 * ECR Public publishes no request-rate quota for BatchDeleteImage (its
 * service-quotas page lists rates for the push and authentication APIs only),
 * so the window finds the rate the service gives: it starts at
 * DEFAULT_CONCURRENCY and doubles every round trip (one more call per call
 * answered) up to MAX_DELETE_CONCURRENCY; a call that the SDK had to retry
 * (throttling, a 5xx: `$metadata.attempts` above 1) halves it, once per
 * congestion (a retried call started before the last decrease says nothing
 * new); from then on it grows by one call per window answered (per 16 calls
 * at least, RECOVERY_CALLS, when the window is small). Shared by every
 * deletion of an event (the declared IDs, the passes, the pages deleted while
 * the listing goes on), so that together they never exceed it.
 */

/** Calls in flight at the start of an event (and the fixed concurrency of earlier versions). */
export const DEFAULT_CONCURRENCY = 4;

/**
 * Calls in flight at most: 32 calls of 100 image IDs, about 10,000 images a
 * second at 300 ms a call, so that 100,000 images take about 10 s of calls
 * after the listing (bench/RESULTS.md).
 */
export const MAX_DELETE_CONCURRENCY = 32;

/** Calls answered without a retry, at least, before the window grows by one after a decrease. */
export const RECOVERY_CALLS = 16;

export interface DeleteWindowOptions {
  /** Calls in flight at first. @default DEFAULT_CONCURRENCY */
  readonly initial?: number;
  /** Calls in flight at most. @default MAX_DELETE_CONCURRENCY */
  readonly max?: number;
}

/** What the window did, for the log and the benchmarks. */
export interface DeleteWindowStats {
  /** Most calls in flight at once. */
  peak: number;
  /** Calls the SDK had to retry (throttled, 5xx). */
  retried: number;
  /** Times the window was halved. */
  decreases: number;
}

export class DeleteWindow {
  readonly stats: DeleteWindowStats = { peak: 0, retried: 0, decreases: 0 };
  private readonly fixed: boolean;
  private readonly max: number;
  /** Calls allowed in flight (fractional while it grows by one per window). */
  private size: number;
  /** Below it, the window doubles every round trip (slow start); above, it grows by one call per window. */
  private threshold: number;
  private inFlight = 0;
  private sequence = 0;
  /** The first ticket handed out after the last decrease: a retried call with an earlier one was sent at the old size. */
  private decreasedAt = 0;
  private readonly waiting: Array<() => void> = [];

  /** A window of `options`, or, with `fixed`, one that always allows exactly that many calls. */
  constructor(options: DeleteWindowOptions | { readonly fixed: number } = {}) {
    this.fixed = 'fixed' in options;
    if ('fixed' in options) {
      this.size = this.max = this.threshold = Math.max(1, Math.floor(options.fixed));
      return;
    }
    this.max = Math.max(1, options.max ?? MAX_DELETE_CONCURRENCY);
    this.size = Math.min(this.max, Math.max(1, options.initial ?? DEFAULT_CONCURRENCY));
    this.threshold = this.max;
  }

  /** Calls allowed in flight now. */
  get allowed(): number {
    return Math.max(1, Math.floor(this.size));
  }

  /** Waits until a call may start; the ticket goes back with `answered` or `failed`. Tickets are handed out in the order asked. */
  async acquire(): Promise<number> {
    if (this.inFlight < this.allowed && this.waiting.length === 0) this.inFlight++;
    // Woken by a release, which counts the call in flight for it.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.stats.peak = Math.max(this.stats.peak, this.inFlight);
    return this.sequence++;
  }

  /** The call of `ticket` was answered; `retried` when the SDK needed more than one attempt. */
  answered(ticket: number, retried: boolean): void {
    if (retried) this.stats.retried++;
    if (!this.fixed && retried && ticket >= this.decreasedAt) {
      this.threshold = Math.max(1, Math.floor(this.size / 2));
      this.size = this.threshold;
      this.decreasedAt = this.sequence;
      this.stats.decreases++;
    } else if (!this.fixed && !retried) {
      // Above the threshold, one more call per window answered, and never faster than one per RECOVERY_CALLS: a service
      // that takes one or two calls at a time sees a retried call in about twenty, not in three.
      this.size = Math.min(this.max, this.size < this.threshold ? this.size + 1 : this.size + 1 / Math.max(this.size, RECOVERY_CALLS));
    }
    this.release();
  }

  /** The call of `ticket` got no answer (an error, an abort): it gives its place back, and changes nothing else. */
  failed(_ticket: number): void {
    this.release();
  }

  private release(): void {
    this.inFlight--;
    while (this.waiting.length > 0 && this.inFlight < this.allowed) {
      this.inFlight++;
      this.waiting.shift()!();
    }
  }
}
