/**
 * ECR Public's image-pull quotas, as the emulator enforces them (off unless a
 * test or benchmark sets them): one token bucket per class and client, and a
 * counter of the pulls let through and refused, per class.
 *
 * The quotas (docs.aws.amazon.com/AmazonECR/latest/public/public-service-quotas.html):
 * "Rate of unauthenticated image pulls", 1 per second, not adjustable;
 * "Rate of authenticated image pulls", 10 per second, adjustable (quota code
 * L-33392ECC). The page says neither what counts as a pull nor how much burst
 * the service tolerates. The emulator's choices, documented in
 * docs/registry-quotas-and-cache.md:
 *
 * - a pull is a GET or HEAD of a manifest (by tag or digest). Token requests
 *   and the `/v2/` ping are not: they fetch no image data. ocync's ECR Public
 *   client, built against the service, paces manifest and blob reads, GET and
 *   HEAD alike, in one window (clowdhaus/ocync, aimd.rs), so HEAD counts too;
 * - unauthenticated pulls are counted per client address (the quota is per
 *   IP), authenticated ones per account (every principal of the account
 *   shares one quota);
 * - a refused pull is answered 429 TOOMANYREQUESTS "Rate exceeded" without
 *   Retry-After (what `docker pull` prints as `toomanyrequests: Rate exceeded`
 *   in the field reports, e.g. aws/aws-lambda-web-adapter#429; no report shows
 *   a Retry-After, so a client must not rely on one);
 * - the burst is one second's worth of pulls unless set.
 */

/** How a pull was authorized: a bearer token from an anonymous or an authenticated token request. */
export type PullClass = 'anonymous' | 'authenticated';
export const PULL_CLASSES: readonly PullClass[] = ['anonymous', 'authenticated'];

/** One class's quota: pulls per second, and how many may come at once after a pause. */
export interface PullRate {
  readonly perSecond: number;
  /** @default perSecond (one second's worth), at least 1 */
  readonly burst?: number;
}

/** Quotas by class; a class left out is not limited. */
export type PullRates = Partial<Record<PullClass, PullRate>>;

/** The documented defaults: 1 per second per address anonymously, 10 per second per account authenticated. */
export const DOCUMENTED_PULL_RATES: Readonly<Record<PullClass, PullRate>> = {
  anonymous: { perSecond: 1 },
  authenticated: { perSecond: 10 },
};

/** Pulls of one class: let through, and refused with 429. */
export interface PullCount {
  pulls: number;
  throttled: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class PullQuota {
  private rates: PullRates = {};
  private readonly buckets = new Map<string, Bucket>();
  private readonly counts: Record<PullClass, PullCount> = { anonymous: { pulls: 0, throttled: 0 }, authenticated: { pulls: 0, throttled: 0 } };

  constructor(
    rates: PullRates | 'documented' | undefined,
    private readonly now: () => number,
  ) {
    this.configure(rates);
  }

  /** Sets the quotas (`'documented'`: DOCUMENTED_PULL_RATES; undefined: none) and empties the buckets' history. */
  configure(rates: PullRates | 'documented' | undefined): void {
    const chosen = rates === 'documented' ? DOCUMENTED_PULL_RATES : (rates ?? {});
    for (const [pullClass, rate] of Object.entries(chosen)) {
      if (!PULL_CLASSES.includes(pullClass as PullClass)) {
        throw new Error(`pull rates: unknown class '${pullClass}' (expected ${PULL_CLASSES.join(' or ')})`);
      }
      if (!(rate.perSecond > 0) || !Number.isFinite(rate.perSecond) || (rate.burst !== undefined && !(rate.burst >= 1))) {
        throw new Error(`pull rates: ${pullClass} must have perSecond > 0 and burst >= 1, got ${JSON.stringify(rate)}`);
      }
    }
    this.rates = { ...chosen };
    this.buckets.clear();
  }

  /** The quotas in force. */
  get current(): PullRates {
    return { ...this.rates };
  }

  /**
   * Counts one pull of `pullClass` from `client` (an address, or the account):
   * true when the quota lets it through, false when it is refused.
   */
  admit(pullClass: PullClass, client: string): boolean {
    const rate = this.rates[pullClass];
    if (rate === undefined) {
      this.counts[pullClass].pulls++;
      return true;
    }
    const burst = Math.max(1, rate.burst ?? rate.perSecond);
    const key = `${pullClass}|${client}`;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.counts[pullClass].pulls++;
      return true;
    }
    this.counts[pullClass].throttled++;
    return false;
  }

  /** Pulls let through and refused so far, per class. */
  pulls(): Record<PullClass, PullCount> {
    return { anonymous: { ...this.counts.anonymous }, authenticated: { ...this.counts.authenticated } };
  }

  /** Forgets the counts (not the quotas). */
  resetCounts(): void {
    for (const pullClass of PULL_CLASSES) this.counts[pullClass] = { pulls: 0, throttled: 0 };
  }
}
