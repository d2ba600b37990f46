/**
 * The emulator's fault switches, one set per API (the JSON API and the
 * registry): at configurable rates, drawn from a seeded PRNG so that a run can
 * be replayed, a request is answered the way a troubled service or network
 * would instead of normally:
 *
 * - `throttle`: JSON API: HTTP 400 ThrottlingException, as ECR Public sends it;
 *   registry: HTTP 429 TOOMANYREQUESTS with Retry-After (none if `retryAfterSeconds` is null);
 * - `tooManyRequests`: HTTP 429 with Retry-After on either API (JSON API body: ThrottlingException);
 * - `serverError`: JSON API: HTTP 500 ServerException; registry: HTTP 503 UNAVAILABLE;
 * - `dropBefore`: the connection is closed before the request is applied;
 * - `dropAfter`: the request is applied, then the connection is closed before
 *   the answer is sent (the client cannot tell it was applied);
 * - `hang`: the request is never applied and never answered;
 * - `latency`: the request is held for a while, then handled normally
 *   (independent of the others: a delayed request may still get a fault).
 *
 * `forced` queues answers for the next requests whatever the rates, for tests
 * that need one particular fault at one particular moment. Every request is
 * recorded in `requests`, with what was done to it.
 */

export type FaultKind = 'throttle' | 'tooManyRequests' | 'serverError' | 'dropBefore' | 'dropAfter' | 'hang' | 'latency';
export const FAULT_KINDS: readonly FaultKind[] = ['throttle', 'tooManyRequests', 'serverError', 'dropBefore', 'dropAfter', 'hang', 'latency'];
export type ReplacingFault = Exclude<FaultKind, 'latency'>;
const REPLACING: readonly ReplacingFault[] = ['throttle', 'tooManyRequests', 'serverError', 'dropBefore', 'dropAfter', 'hang'];

/**
 * A forced answer: a fault that replaces the answer, a non-retryable error
 * (`accessDenied`: IAM said no), or `pass` (a plain answer, to aim a fault at a later request).
 */
export type ForcedAnswer = ReplacingFault | 'accessDenied' | 'pass';

/** Probability of each fault per request, 0 to 1. The answer-replacing ones must sum to at most 1. */
export type FaultRates = Partial<Record<FaultKind, number>>;

export interface FaultOptions {
  readonly seed?: number;
  readonly rates?: FaultRates;
  /** Extra delay of a latency spike, drawn uniformly in [min, max] ms. @default [200, 1500] */
  readonly latencyMs?: readonly [number, number];
  /**
   * Most answer-replacing faults drawn for one SDK call (its attempts share the
   * amz-sdk-invocation-id header). Below the client's attempts, it lets a test
   * inject faults at high rates and still expect the SDK to absorb them all.
   * @default - no limit
   */
  readonly maxFaultsPerCall?: number;
  /** The Retry-After of 429 answers, in seconds; `null`: 429 without Retry-After (a client must not rely on it). @default 1 */
  readonly retryAfterSeconds?: number | null;
  /** A fixed delay before each answer, by operation (JSON API: e.g. `DescribeImages`; registry: `manifests`, `token`). @default - none */
  readonly delayMs?: Readonly<Record<string, number>>;
}

/** One request that reached the emulator. */
export interface RecordedRequest {
  /** Which API: `api` (JSON) or `registry`. */
  readonly api: 'api' | 'registry';
  /** JSON API: the X-Amz-Target header (e.g. SpencerFrontendService.BatchDeleteImage); registry: `GET /v2/…`. */
  readonly operation: string;
  readonly body: string;
  /** performance.now() when the request's headers arrived. */
  readonly arrivedAt: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** What was done instead of (or besides, for latency and dropAfter) a plain answer. */
  readonly faults: FaultKind[];
  /** The forced answer used, if any. */
  readonly forced?: ForcedAnswer;
}

/** mulberry32: a small, fast, seedable PRNG, good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const noFaults = (): Record<FaultKind, number> => ({
  throttle: 0,
  tooManyRequests: 0,
  serverError: 0,
  dropBefore: 0,
  dropAfter: 0,
  hang: 0,
  latency: 0,
});

/** The decision for one request. */
export interface Decision {
  readonly latencyMs: number;
  readonly fault?: ReplacingFault;
  readonly forced?: ForcedAnswer;
  /** Absent for a request that bypassed the switches. */
  readonly record?: RecordedRequest;
}

export class FaultInjector {
  /** Faults injected so far, by kind. */
  readonly injected: Record<FaultKind, number> = noFaults();
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Answers forced for the next requests, taken before the rates are consulted. */
  readonly forced: ForcedAnswer[] = [];
  retryAfterSeconds: number | null;
  delayMs: Record<string, number>;

  private rates: FaultRates = {};
  private random: () => number;
  private latencyMs: readonly [number, number];
  private maxFaultsPerCall: number;
  private readonly faultsPerCall = new Map<string, number>();
  private readonly waiters: Array<{ match: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }> = [];

  constructor(
    readonly api: 'api' | 'registry',
    options: FaultOptions = {},
  ) {
    this.random = seededRandom(options.seed ?? 1);
    this.latencyMs = options.latencyMs ?? [200, 1500];
    this.maxFaultsPerCall = options.maxFaultsPerCall ?? Infinity;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    this.delayMs = { ...(options.delayMs ?? {}) };
    this.configure(options.rates ?? {});
  }

  /** Changes the rates, and restarts the PRNG when a seed is given. */
  configure(rates: FaultRates, seed?: number, options: Pick<FaultOptions, 'latencyMs' | 'maxFaultsPerCall'> = {}): void {
    const replacing = REPLACING.reduce((sum, kind) => sum + (rates[kind] ?? 0), 0);
    if (replacing > 1 + 1e-9 || Object.values(rates).some((rate) => rate === undefined || rate < 0 || rate > 1)) {
      throw new Error(`fault rates must be within 0..1 and the answer-replacing ones sum to at most 1, got ${JSON.stringify(rates)}`);
    }
    this.rates = { ...rates };
    if (seed !== undefined) this.random = seededRandom(seed);
    if (options.latencyMs) this.latencyMs = options.latencyMs;
    if (options.maxFaultsPerCall !== undefined) this.maxFaultsPerCall = options.maxFaultsPerCall;
  }

  /** Resolves with the next request that `match` accepts (by default any). */
  nextRequest(match: (request: RecordedRequest) => boolean = () => true): Promise<RecordedRequest> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Forgets the recorded requests and the counters (not the rates or the forced queue). */
  reset(): void {
    this.requests.length = 0;
    Object.assign(this.injected, noFaults());
    this.faultsPerCall.clear();
  }

  /** Decides what happens to one request and records it. */
  decide(operation: string, body: string, headers: RecordedRequest['headers'], arrivedAt: number, delayKey: string): Decision {
    const forced = this.forced.shift();
    const call = String(headers['amz-sdk-invocation-id'] ?? '');
    const drawn =
      forced === undefined ? this.draw(call) : { latency: false, fault: forced === 'accessDenied' || forced === 'pass' ? undefined : forced };
    const faults: FaultKind[] = [];
    if (drawn.latency) faults.push('latency');
    if (drawn.fault) faults.push(drawn.fault);
    for (const kind of faults) this.injected[kind]++;
    const record: RecordedRequest = { api: this.api, operation, body, arrivedAt, headers, faults, forced };
    this.requests.push(record);
    for (let i = 0; i < this.waiters.length; i++) {
      if (this.waiters[i].match(record)) {
        this.waiters[i].resolve(record);
        this.waiters.splice(i--, 1);
      }
    }
    let latencyMs = this.delayMs[delayKey] ?? 0;
    if (drawn.latency) {
      const [min, max] = this.latencyMs;
      latencyMs += min + Math.floor(this.random() * (max - min + 1));
    }
    return { latencyMs, fault: drawn.fault, forced, record };
  }

  /** Draws the faults for one request: latency independently, then at most one answer-replacing fault. */
  private draw(call: string): { latency: boolean; fault?: ReplacingFault } {
    const latency = this.random() < (this.rates.latency ?? 0);
    const roll = this.random();
    const faultsSoFar = this.faultsPerCall.get(call) ?? 0;
    if (faultsSoFar >= this.maxFaultsPerCall) return { latency };
    let threshold = 0;
    for (const kind of REPLACING) {
      threshold += this.rates[kind] ?? 0;
      if (roll < threshold) {
        this.faultsPerCall.set(call, faultsSoFar + 1);
        return { latency, fault: kind };
      }
    }
    return { latency };
  }
}
