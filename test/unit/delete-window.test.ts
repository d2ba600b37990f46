/**
 * The window of BatchDeleteImage calls in flight (lambda/delete-window.ts):
 * it starts at DEFAULT_CONCURRENCY, doubles every round trip while ECR Public
 * answers at once, up to MAX_DELETE_CONCURRENCY; a call the SDK had to retry
 * halves it, once per congestion; and through deleteImages, against a service
 * that throttles what it cannot take, it settles below that capacity with few
 * retried calls.
 */
import { BatchDeleteImageCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { mockClient } from 'aws-sdk-client-mock';
import * as fc from 'fast-check';
import { DEFAULT_CONCURRENCY, DeleteWindow, MAX_DELETE_CONCURRENCY } from '../../lambda/delete-window';
import { deleteImages } from '../../lambda/execute';

/** Runs `calls` calls through the window, each answered after `latency` steps; `retried(inFlight)` says whether the service throttled it. */
function simulate(window: DeleteWindow, calls: number, retried: (inFlight: number) => boolean) {
  let inFlight: Array<{ ticket: number; endsAt: number; retried: boolean }> = [];
  const sizes: number[] = [];
  let sent = 0;
  let retries = 0;
  for (let step = 0; sent < calls || inFlight.length > 0; step++) {
    for (const call of inFlight.filter((c) => c.endsAt === step)) {
      window.answered(call.ticket, call.retried);
      if (call.retried) retries++;
    }
    inFlight = inFlight.filter((c) => c.endsAt !== step);
    while (sent < calls && inFlight.length < window.allowed) {
      // acquire() resolves at once while there is room; the simulation keeps to that.
      const ticket = sent++;
      inFlight.push({ ticket, endsAt: step + 1, retried: retried(inFlight.length + 1) });
    }
    sizes.push(inFlight.length);
  }
  return { sizes, retries };
}

describe('the window of calls in flight', () => {
  test('doubles every round trip while nothing is retried, from 4 up to 32', () => {
    const { sizes } = simulate(new DeleteWindow(), 200, () => false);
    expect(sizes.slice(0, 5)).toEqual([DEFAULT_CONCURRENCY, 8, 16, 32, 32]);
    expect(Math.max(...sizes)).toBe(MAX_DELETE_CONCURRENCY);
  });

  test('a retried call halves it, once for the calls sent at the same size', async () => {
    const window = new DeleteWindow({ initial: 16 });
    const tickets = await Promise.all(Array.from({ length: 16 }, () => window.acquire()));
    // Three calls of the same window retried: one halving.
    for (const ticket of tickets.slice(0, 3)) window.answered(ticket, true);
    expect(window.allowed).toBe(8);
    expect(window.stats).toMatchObject({ decreases: 1, retried: 3, peak: 16 });
    // A call sent after the decrease, retried: news, another halving.
    for (const ticket of tickets.slice(3, 13)) window.answered(ticket, false);
    const after = await window.acquire();
    window.answered(after, true);
    expect(window.stats.decreases).toBe(2);
  });

  test('a fixed window never moves', () => {
    const { sizes } = simulate(new DeleteWindow({ fixed: 3 }), 51, (n) => n > 2);
    expect(new Set(sizes.filter((n) => n > 0))).toEqual(new Set([3]));
  });

  test('against any capacity from 1 to 40 calls in flight, it settles at or below it, with few calls retried', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), (capacity) => {
        const { sizes, retries } = simulate(new DeleteWindow(), 2000, (inFlight) => inFlight > capacity);
        const settled = sizes.slice(Math.floor(sizes.length / 2), -1);
        expect(Math.max(...settled)).toBeLessThanOrEqual(Math.min(MAX_DELETE_CONCURRENCY, capacity) + 2);
        // Each congestion costs the calls of one round trip above capacity, then the window backs off for many round trips.
        expect(retries / 2000).toBeLessThan(0.1);
      }),
      { numRuns: 40 },
    );
  });
});

describe('deleteImages with the window', () => {
  const ecr = mockClient(ECRPUBLICClient);
  const client = new ECRPUBLICClient({ region: 'us-east-1' });
  const tags = (n: number) => Array.from({ length: n }, (_, i) => ({ imageTag: `t${i}` }));
  beforeEach(() => ecr.reset());

  test('sends every batch once, in order, up to 32 in flight when nothing is retried', async () => {
    let inFlight = 0;
    let peak = 0;
    ecr.on(BatchDeleteImageCommand).callsFake(async (input) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      return { imageIds: input.imageIds, failures: [], $metadata: { attempts: 1 } };
    });
    const window = new DeleteWindow();
    const outcome = await deleteImages(client, { repositoryName: 'app', imageIds: tags(20_000) }, { window });
    expect(outcome.deleted).toEqual(tags(20_000));
    expect(ecr.commandCalls(BatchDeleteImageCommand).map((call) => call.args[0].input.imageIds![0].imageTag)).toEqual(
      Array.from({ length: 200 }, (_, i) => `t${i * 100}`),
    );
    expect(peak).toBe(MAX_DELETE_CONCURRENCY);
    expect(window.stats.peak).toBe(MAX_DELETE_CONCURRENCY);
  });

  test('calls the SDK retried (throttled) shrink it: the calls in flight fall to what the service takes', async () => {
    let inFlight = 0;
    const seen: number[] = [];
    ecr.on(BatchDeleteImageCommand).callsFake(async (input) => {
      seen.push(++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      const attempts = inFlight > 6 ? 2 : 1;
      inFlight--;
      return { imageIds: input.imageIds, failures: [], $metadata: { attempts } };
    });
    const window = new DeleteWindow();
    await deleteImages(client, { repositoryName: 'app', imageIds: tags(30_000) }, { window });
    expect(window.stats.decreases).toBeGreaterThan(0);
    // After the first round trips, the window stays near 6.
    expect(Math.max(...seen.slice(100))).toBeLessThanOrEqual(10);
  });
});
