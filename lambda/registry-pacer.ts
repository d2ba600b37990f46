/**
 * The pacer of registry requests: a token bucket that spaces requests below
 * ECR Public's pull quota instead of bursting and backing off. Pure (the
 * clock is injected, nothing sleeps here): `reserve` says when the next
 * request may start, the caller waits until then.
 *
 * - The rate's ceiling is what the event may use: by default half of the
 *   authenticated quota (DEFAULT_REGISTRY_READS_PER_SECOND, 5 of 10 per
 *   second, shared with every other authenticated pull of the account), 1 per
 *   second when anonymous (the unauthenticated quota, per IP), or what the
 *   user set (`registryReadsPerSecond`).
 * - `burst` requests may start back to back after a pause; then one every
 *   1/rate seconds. Over any window of W ms, at most burst + W × ceiling / 1000
 *   requests start (test/unit/registry-pacer.test.ts proves it for any
 *   arrival pattern and any 429s).
 * - A 429 halves the rate (not below a floor) and holds the next request for
 *   one interval at the new rate. It does not rely on Retry-After, which ECR
 *   Public's field reports never show. One decrease per congestion event: a
 *   429 for a request reserved before the last decrease says nothing new.
 * - The rate then climbs back linearly with the requests answered without a
 *   429, regaining the rate it had before the 429 after `recoveryRequests`
 *   of them (40 by default), and on at that slope up to the ceiling. Counted
 *   in requests, not seconds, so that whatever capacity the account's other
 *   pulls leave, about one request in 40 meets a 429, never one in two (the
 *   simulation in the test keeps them under 5% for any capacity from a tenth
 *   of the ceiling up).
 */
import { ANONYMOUS_REGISTRY_READS_PER_SECOND, DEFAULT_REGISTRY_READS_PER_SECOND } from '../lib/contract';

export interface PacerOptions {
  /** The ceiling: requests per second while nothing is throttled. */
  readonly ratePerSecond: number;
  /** Requests that may start back to back after a pause. @default 1 */
  readonly burst?: number;
  /** The rate never falls below this. @default 0.05 (one request every 20 s), or ratePerSecond if lower */
  readonly minRatePerSecond?: number;
  /** Requests answered without a 429 after which the rate regains what it was before the last 429. @default 40 */
  readonly recoveryRequests?: number;
}

/** A reserved start time: wait until `startAt` (epoch ms) before sending; report a 429 with the slot. */
export interface PacerSlot {
  readonly startAt: number;
  /** Reservation order, which tells a 429 that predates the last decrease from a new one. */
  readonly sequence: number;
}

/** What the pacer did, for the log and the benchmarks. */
export interface PacerStats {
  /** Slots reserved. */
  reserved: number;
  /** 429s reported. */
  throttled: number;
  /** Rate decreases (429s that were news). */
  decreases: number;
  /** Requests answered without a 429. */
  succeeded: number;
}

export const DEFAULT_RECOVERY_REQUESTS = 40;
export const DEFAULT_MIN_RATE_PER_SECOND = 0.05;

/**
 * The ceiling of an event's registry reads: the configured rate (or the
 * default) when authenticated; when anonymous, that rate but never more than
 * the unauthenticated quota.
 */
export function registryReadRate(access: 'authenticated' | 'anonymous', configured?: number): number {
  const rate = configured ?? DEFAULT_REGISTRY_READS_PER_SECOND;
  return access === 'anonymous' ? Math.min(rate, ANONYMOUS_REGISTRY_READS_PER_SECOND) : rate;
}

export class RequestPacer {
  readonly stats: PacerStats = { reserved: 0, throttled: 0, decreases: 0, succeeded: 0 };
  private readonly ceiling: number;
  private readonly floor: number;
  private readonly burst: number;
  private readonly recoveryRequests: number;
  /** Requests per second in force. */
  private rate: number;
  /** What each answered request adds to the rate while it is below the ceiling. */
  private step = 0;
  /** Theoretical arrival time: the next request's start, were there no burst allowance. */
  private next = Number.NEGATIVE_INFINITY;
  private sequence = 0;
  private decreasedAtSequence = -1;

  constructor(
    options: PacerOptions,
    private readonly now: () => number,
  ) {
    if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) {
      throw new Error(`a pacer needs a rate above 0 requests per second, got ${options.ratePerSecond}`);
    }
    this.ceiling = options.ratePerSecond;
    this.floor = Math.min(this.ceiling, options.minRatePerSecond ?? DEFAULT_MIN_RATE_PER_SECOND);
    this.burst = Math.max(1, Math.floor(options.burst ?? 1));
    this.recoveryRequests = Math.max(1, options.recoveryRequests ?? DEFAULT_RECOVERY_REQUESTS);
    this.rate = this.ceiling;
  }

  /** The rate in force: the ceiling, or less after a 429. */
  get ratePerSecond(): number {
    return this.rate;
  }

  /** Reserves the next start time. Reservations are served in order: a later one never starts before an earlier one. */
  reserve(): PacerSlot {
    const now = this.now();
    const interval = 1000 / this.rate;
    // The burst allowance is measured at the ceiling's spacing: the bound over any window holds whatever the rate does.
    const tolerance = ((this.burst - 1) * 1000) / this.ceiling;
    const startAt = Math.max(now, this.next - tolerance);
    this.next = Math.max(this.next, startAt) + interval;
    this.stats.reserved++;
    return { startAt, sequence: this.sequence++ };
  }

  /** Milliseconds to wait before the slot's request may start. */
  waitMs(slot: PacerSlot): number {
    return Math.max(0, slot.startAt - this.now());
  }

  /** The registry answered the slot's request (anything but a 429): the rate climbs back, if it is below the ceiling. */
  succeeded(slot: PacerSlot): void {
    this.stats.succeeded++;
    // An answer to a request reserved before the last decrease was paced at the old rate: it says nothing of the new one.
    if (slot.sequence < this.decreasedAtSequence) return;
    this.rate = Math.min(this.ceiling, this.rate + this.step);
  }

  /** The registry answered 429 to the slot's request: halve the rate and hold the next request, unless this congestion was already answered. */
  throttled(slot: PacerSlot): void {
    this.stats.throttled++;
    if (slot.sequence < this.decreasedAtSequence) return;
    this.rate = Math.max(this.floor, this.rate / 2);
    // Back to the rate before this 429 (twice the new one) after recoveryRequests answers.
    this.step = this.rate / this.recoveryRequests;
    this.decreasedAtSequence = this.sequence;
    this.next = Math.max(this.next, this.now()) + 1000 / this.rate;
    this.stats.decreases++;
  }
}
