/**
 * The registry pacer (lambda/registry-pacer.ts), on a simulated clock: over
 * any arrival pattern and any 429s, no window sees more starts than the
 * bucket allows; a 429 halves the rate once per congestion event, without
 * Retry-After; the rate recovers slowly; and against a registry that leaves
 * less capacity than the ceiling, 429s stay a small fraction of requests.
 */
import * as fc from 'fast-check';
import { ANONYMOUS_REGISTRY_READS_PER_SECOND, DEFAULT_REGISTRY_READS_PER_SECOND } from '../../lib/contract';
import { DEFAULT_RECOVERY_REQUESTS, PacerSlot, RequestPacer, registryReadRate } from '../../lambda/registry-pacer';

/** A pacer on a clock the test moves. */
function pacerAt(options: ConstructorParameters<typeof RequestPacer>[0], start = 1_000_000) {
  const clock = { now: start };
  return { clock, pacer: new RequestPacer(options, () => clock.now) };
}

/** Most starts in any window of `windowMs` (windows that begin at a start: the worst ones). */
function mostStartsInWindow(starts: readonly number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let most = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j] < sorted[i] + windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

/**
 * A run: requests arrive after the given gaps; each starts at its slot; its
 * answer, a 429 for those flagged, is reported `reportDelay` ms after it
 * starts (the clock moves to each event in time order).
 */
function simulate(
  options: ConstructorParameters<typeof RequestPacer>[0],
  requests: ReadonlyArray<{ gapMs: number; throttled: boolean; reportDelayMs: number }>,
) {
  const { clock, pacer } = pacerAt(options);
  const events: Array<{ at: number; run: () => void }> = [];
  let arrival = clock.now;
  for (const request of requests) {
    arrival += request.gapMs;
    events.push({
      at: arrival,
      run: () => {
        const slot = pacer.reserve();
        starts.push({ arrival: clock.now, start: slot.startAt });
        events.push({ at: slot.startAt + request.reportDelayMs, run: () => (request.throttled ? pacer.throttled(slot) : pacer.succeeded(slot)) });
      },
    });
  }
  const starts: Array<{ arrival: number; start: number }> = [];
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at);
    const next = events.shift()!;
    clock.now = Math.max(clock.now, next.at);
    next.run();
  }
  return { starts, pacer };
}

const requestsArb = fc.array(
  fc.record({
    gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 5_000 })),
    throttled: fc.boolean(),
    reportDelayMs: fc.integer({ min: 0, max: 2_000 }),
  }),
  { minLength: 1, maxLength: 120 },
);
const optionsArb = fc.record({
  ratePerSecond: fc.double({ min: 0.1, max: 100, noNaN: true }),
  burst: fc.integer({ min: 1, max: 10 }),
});

describe('the token bucket', () => {
  test('over any arrival pattern and any 429s, no window of W ms sees more than burst + W × rate starts', () => {
    fc.assert(
      fc.property(optionsArb, requestsArb, fc.integer({ min: 1, max: 60_000 }), (options, requests, windowMs) => {
        const { starts } = simulate(options, requests);
        const allowed = options.burst + (windowMs * options.ratePerSecond) / 1000;
        expect(
          mostStartsInWindow(
            starts.map((s) => s.start),
            windowMs,
          ),
        ).toBeLessThanOrEqual(allowed + 1e-9);
      }),
      { numRuns: 400 },
    );
  });

  test('requests start in the order they were reserved, never before they arrive', () => {
    fc.assert(
      fc.property(optionsArb, requestsArb, (options, requests) => {
        const { starts } = simulate(options, requests);
        starts.forEach(({ arrival, start }, i) => {
          expect(start).toBeGreaterThanOrEqual(arrival);
          if (i > 0) expect(start).toBeGreaterThanOrEqual(starts[i - 1].start);
        });
      }),
      { numRuns: 300 },
    );
  });

  test('a caller already slower than the rate never waits', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        fc.array(fc.double({ min: 1, max: 3, noNaN: true }), { maxLength: 50 }),
        (rate, factors) => {
          const requests = factors.map((factor) => ({ gapMs: Math.ceil((1000 / rate) * factor), throttled: false, reportDelayMs: 0 }));
          const { starts } = simulate({ ratePerSecond: rate }, requests);
          for (const { arrival, start } of starts) expect(start).toBe(arrival);
        },
      ),
    );
  });

  test('a backlog goes out at the rate: 1 + (n - 1) / rate seconds for n requests, burst 1', () => {
    const { clock, pacer } = pacerAt({ ratePerSecond: 5 });
    const slots = Array.from({ length: 51 }, () => pacer.reserve());
    expect(slots[0].startAt).toBe(clock.now);
    expect(slots[50].startAt - clock.now).toBeCloseTo(10_000, 6);
    expect(pacer.waitMs(slots[50])).toBeCloseTo(10_000, 6);
  });

  test('after a pause, `burst` requests start at once, then one per interval', () => {
    const { clock, pacer } = pacerAt({ ratePerSecond: 2, burst: 3 });
    clock.now += 60_000;
    const starts = Array.from({ length: 5 }, () => pacer.reserve().startAt - clock.now);
    expect(starts).toEqual([0, 0, 0, 500, 1000]);
  });

  test('a rate that is not a positive number is refused', () => {
    for (const ratePerSecond of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new RequestPacer({ ratePerSecond }, Date.now)).toThrow(/rate above 0/);
    }
  });
});

describe('429s', () => {
  test('a 429 halves the rate and holds the next request for one interval at the new rate, with no Retry-After to go by', () => {
    const { clock, pacer } = pacerAt({ ratePerSecond: 4 });
    const slot = pacer.reserve();
    clock.now += 100;
    pacer.throttled(slot);
    expect(pacer.ratePerSecond).toBe(2);
    // The next slot was due at +250 ms; it comes one new interval (500 ms) after that instead.
    expect(pacer.reserve().startAt).toBe(clock.now - 100 + 250 + 500);
    expect(pacer.stats).toEqual({ reserved: 2, throttled: 1, decreases: 1, succeeded: 0 });
  });

  test('429s for requests reserved before the decrease count once: one halving per congestion event', () => {
    const { clock, pacer } = pacerAt({ ratePerSecond: 8 });
    const inFlight = Array.from({ length: 4 }, () => pacer.reserve());
    clock.now += 600;
    for (const slot of inFlight) pacer.throttled(slot);
    expect(pacer.ratePerSecond).toBe(4);
    expect(pacer.stats.decreases).toBe(1);
    // A request reserved after the decrease that is throttled again is news.
    const later = pacer.reserve();
    clock.now = later.startAt;
    pacer.throttled(later);
    expect(pacer.ratePerSecond).toBe(2);
    expect(pacer.stats.decreases).toBe(2);
  });

  test('the rate never falls below its floor, never rises above its ceiling', () => {
    fc.assert(
      fc.property(optionsArb, requestsArb, (options, requests) => {
        const { pacer } = simulate({ ...options, minRatePerSecond: 0.2 }, requests);
        const rate = pacer.ratePerSecond;
        expect(rate).toBeLessThanOrEqual(options.ratePerSecond);
        expect(rate).toBeGreaterThanOrEqual(Math.min(0.2, options.ratePerSecond));
      }),
    );
  });

  test('it recovers slowly: back to the rate before the 429 after 40 answered requests, linearly, and no further than the ceiling', () => {
    const { pacer } = pacerAt({ ratePerSecond: 6 });
    pacer.throttled(pacer.reserve());
    expect(pacer.ratePerSecond).toBe(3);
    const rates = [];
    for (let i = 1; i <= 2 * DEFAULT_RECOVERY_REQUESTS; i++) {
      pacer.succeeded(pacer.reserve());
      rates.push(pacer.ratePerSecond);
    }
    expect(DEFAULT_RECOVERY_REQUESTS).toBe(40);
    expect(rates[DEFAULT_RECOVERY_REQUESTS / 2 - 1]).toBeCloseTo(4.5, 9);
    expect(rates[DEFAULT_RECOVERY_REQUESTS - 2]).toBeLessThan(6);
    expect(rates[DEFAULT_RECOVERY_REQUESTS - 1]).toBeCloseTo(6, 9);
    expect(Math.max(...rates)).toBe(6);
  });

  test('answers to requests reserved before a 429 do not speed the recovery', () => {
    const { pacer } = pacerAt({ ratePerSecond: 6 });
    const before = Array.from({ length: 10 }, () => pacer.reserve());
    pacer.throttled(before[0]);
    for (const slot of before.slice(1)) pacer.succeeded(slot);
    expect(pacer.ratePerSecond).toBe(3);
  });

  test('against a registry that leaves any capacity from a tenth of the ceiling up, 429s stay under 5% of 2,000 requests', () => {
    fc.assert(
      // Ceilings from the anonymous quota (1/s) up; below twice the floor (0.05/s) the pacer cannot go slow enough.
      fc.property(fc.double({ min: 1, max: 100, noNaN: true }), fc.double({ min: 0.1, max: 2, noNaN: true }), (ceiling, share) => {
        // The registry: a token bucket of `capacity` per second (a second's worth of burst), which other clients are assumed to leave us.
        const capacity = ceiling * share;
        const { clock, pacer } = pacerAt({ ratePerSecond: ceiling });
        let tokens = Math.max(1, capacity);
        let last = clock.now;
        let sent = 0;
        let refused = 0;
        // A constant backlog, one request at a time.
        while (sent < 2000) {
          const slot: PacerSlot = pacer.reserve();
          clock.now = Math.max(clock.now, slot.startAt);
          tokens = Math.min(Math.max(1, capacity), tokens + ((clock.now - last) / 1000) * capacity);
          last = clock.now;
          sent++;
          if (tokens >= 1) {
            tokens -= 1;
            pacer.succeeded(slot);
          } else {
            refused++;
            pacer.throttled(slot);
          }
        }
        expect(refused / sent).toBeLessThan(0.05);
      }),
      { numRuns: 60 },
    );
  });
});

describe('the rate for an event', () => {
  test('authenticated: the configured rate, by default half the 10/s quota; anonymous: never above 0.9/s, below the 1/s quota', () => {
    expect(registryReadRate('authenticated')).toBe(DEFAULT_REGISTRY_READS_PER_SECOND);
    expect(DEFAULT_REGISTRY_READS_PER_SECOND).toBe(5);
    expect(registryReadRate('authenticated', 40)).toBe(40);
    expect(registryReadRate('anonymous')).toBe(ANONYMOUS_REGISTRY_READS_PER_SECOND);
    expect(ANONYMOUS_REGISTRY_READS_PER_SECOND).toBe(0.9);
    expect(registryReadRate('anonymous', 40)).toBe(0.9);
    expect(registryReadRate('anonymous', 0.5)).toBe(0.5);
  });
});
