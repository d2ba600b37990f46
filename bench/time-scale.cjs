// A faster clock for a handler process (node -r bench/time-scale.cjs), so that
// hours of paced registry reads run in minutes: with BENCH_TIME_SCALE=k, the
// process's clock runs k times as fast from BENCH_TIME_ORIGIN (epoch ms, shared
// with the benchmark's local ECR Public, whose pull quotas use the same
// clock: bench/quota-scale.js), and every wait (setTimeout, setInterval,
// AbortSignal.timeout) is k times as short. So a 300 s function timeout lasts
// 300 / k s of real time, and a read paced at 5 a second takes 200 / k ms.
// What does not scale: the CPU time the process spends, which lasts k times as
// long on the scaled clock (bench/README.md says what that means for the figures).
'use strict';
const scale = Number(process.env.BENCH_TIME_SCALE ?? '1');
const origin = Number(process.env.BENCH_TIME_ORIGIN ?? Date.now());
if (!(scale > 0) || !Number.isFinite(origin)) throw new Error('BENCH_TIME_SCALE must be above 0 and BENCH_TIME_ORIGIN an epoch time in ms');

if (scale !== 1) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const scaledNow = () => origin + (realNow() - origin) * scale;
  class ScaledDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(scaledNow());
      else super(...args);
    }
    static now() {
      return scaledNow();
    }
  }
  globalThis.Date = ScaledDate;

  const { performance } = require('node:perf_hooks');
  const realPerformanceNow = performance.now.bind(performance);
  const performanceOrigin = realPerformanceNow();
  performance.now = () => performanceOrigin + (realPerformanceNow() - performanceOrigin) * scale;

  const realSetTimeout = globalThis.setTimeout;
  const realSetInterval = globalThis.setInterval;
  globalThis.setTimeout = (callback, ms, ...args) => realSetTimeout(callback, Math.max(0, Number(ms) || 0) / scale, ...args);
  globalThis.setInterval = (callback, ms, ...args) => realSetInterval(callback, Math.max(1, Number(ms) || 0) / scale, ...args);
  const realAbortTimeout = AbortSignal.timeout.bind(AbortSignal);
  AbortSignal.timeout = (ms) => realAbortTimeout(Math.max(1, Math.ceil(ms / scale)));
  // timers/promises' setTimeout (used by some dependencies) waits on the same scale.
  const timersPromises = require('node:timers/promises');
  const realPromiseTimeout = timersPromises.setTimeout;
  timersPromises.setTimeout = (ms, value, options) => realPromiseTimeout(Math.max(0, Number(ms) || 0) / scale, value, options);
}

/** The scaled clock, for the process that starts handlers: the same formula. */
module.exports = { scaledClock: (k, t0) => () => t0 + (Date.now() - t0) * k };
