// Registry reads at ECR Public's limit, tick after tick: the shipped handler,
// at its defaults (the function's timeout as the construct synthesizes it,
// registryReadsPerSecond unset), runs a scheduled untaggedImages() on a
// repository at ECR Public's image quota (100,000 images: 20,000 buildx pushes,
// every index tagged, so 20,000 kept indexes to read), against the local ECR
// Public enforcing the documented pull rates (1/s per address anonymous, 10/s
// per account authenticated: local/ecr-public/pull-quota.ts) and the local
// DynamoDB holding the stack's reference cache. Each tick is a fresh process,
// as Lambda would start it hourly; the clock of the handler and of the pull
// quotas runs `scale` times as fast (bench/time-scale.cjs) so that a 300 s
// tick lasts 300 / scale s.
//
// Reported: the ticks until the first full pass (no manifest left unread, no
// image kept as unknown) against ceil(indexes / (rate × read budget)), with
// the rate and the read budget (the seconds from the first read to the read
// deadline) from the handler's own log line; then, after 50 new pushes, what
// the next tick reads; the 429s among the registry's answers; the same with
// anonymous reads only (GetAuthorizationToken refused), on a smaller
// repository (at 1 read a second, 20,000 indexes take about 100 ticks).
'use strict';
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { App, Duration, Stack } = require('aws-cdk-lib');
const { Template } = require('aws-cdk-lib/assertions');
const events = require('aws-cdk-lib/aws-events');
const { EcrPublicImageDeletion, ImageSelection } = require('../lib');
const { startEcrPublicEmulator, buildxIndex } = require('../local/ecr-public');
const { createReferenceCacheTable, startLocalDynamoDb } = require('../local/dynamodb');
const { buildxRepositoryImages, OCI_INDEX } = require('./local-ecr-public');
const { parseBench, parseHandlerLog } = require('./handler-output');
const { limits } = require('./selection-scale');
const { runNode, lambdaEnv } = require('./stats');
const { scaledClock } = require('./time-scale.cjs');

const ROOT = path.join(__dirname, '..');
const RUNNER = path.join(__dirname, 'invoke.js');
const TIME_SCALE = path.join(__dirname, 'time-scale.cjs');
const BUNDLE = path.join(ROOT, 'assets', 'handler', 'index.js');
const TABLE = 'bench-reference-cache';

/** The input of a deletion's schedule rule, exactly as the template gives it to EventBridge: the handler at its defaults. */
function scheduledEvent(repositoryName) {
  const stack = new Stack(new App(), 'Quota', { env: { region: 'us-east-1' } });
  new EcrPublicImageDeletion(stack, 'Untagged', {
    repositoryName,
    select: ImageSelection.untaggedImages(),
    schedule: events.Schedule.rate(Duration.hours(1)),
  });
  const [rule] = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'));
  return JSON.parse(rule.Properties.Targets[0].Input);
}

/**
 * Runs the scenario: ticks until the first full pass, then `steadyPushes` new pushes and one more tick.
 * `anonymous`: GetAuthorizationToken refused (the emulator's IAM), so every read is anonymous.
 */
async function scenario({ count, scale, anonymous = false, steadyPushes = 50, maxTicks = 60, delays, log }) {
  const { timeoutMs, nodeOptions } = await limits();
  const origin = Date.now();
  const clock = scaledClock(scale, origin);
  const emulator = await startEcrPublicEmulator({
    now: clock,
    pullRates: 'documented',
    // The answer delays, in scaled time.
    apiFaults: { delayMs: { DescribeImages: delays.describe / scale, BatchDeleteImage: delays.delete / scale } },
  });
  emulator.faults.registry.delayMs.manifests = delays.manifest / scale;
  if (anonymous)
    emulator.authorize = (action) => (action === 'ecr-public:GetAuthorizationToken' ? 'not allowed (benchmark: anonymous reads)' : undefined);
  const dynamo = await startLocalDynamoDb({ region: 'eu-central-1' });
  createReferenceCacheTable(dynamo.store, TABLE);
  const repository = `bench/quota-${anonymous ? 'anonymous' : 'authenticated'}`;
  const images = buildxRepositoryImages(count, { taggedEvery: 1, firstPushMs: origin - count * 60_000 });
  emulator.seed(repository, images);
  const indexes = images.filter((image) => image.mediaType === OCI_INDEX).length;
  const event = scheduledEvent(repository);
  const env = lambdaEnv({
    AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint,
    ECR_PUBLIC_REGISTRY_ENDPOINT: emulator.registryEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    REFERENCE_CACHE_TABLE: TABLE,
    BENCH_TIME_SCALE: String(scale),
    BENCH_TIME_ORIGIN: String(origin),
  });

  const tick = async () => {
    emulator.resetStats();
    const started = performance.now();
    const result = await runNode([...nodeOptions, '-r', TIME_SCALE, RUNNER, BUNDLE], {
      env,
      input: JSON.stringify({ event, remainingMs: timeoutMs }),
      timeoutMs: timeoutMs / scale + 60_000,
    });
    const line = parseHandlerLog(result.stdout);
    if (result.exitCode !== 0) throw new Error(`tick failed: ${line.reason}\n${result.stderr.slice(0, 2000)}`);
    const pulls = emulator.pulls();
    const reads = line.selection.reads;
    return {
      realSeconds: (performance.now() - started) / 1000,
      scaledSeconds: line.durationMs / 1000,
      cpuSeconds: parseBench(result.stderr).cpuMs / 1000,
      fromCache: reads.fromCache,
      fromRegistry: reads.fromRegistry,
      read: reads.fromRegistry - reads.notRead,
      notRead: reads.notRead,
      keptUnknown: line.selection.keptUnknown,
      access: reads.access,
      ratePerSecond: reads.ratePerSecond,
      readWindowSeconds: reads.readWindowSeconds,
      pulls: pulls.anonymous.pulls + pulls.authenticated.pulls,
      throttled: pulls.anonymous.throttled + pulls.authenticated.throttled,
      registryRequests: emulator.stats('manifests').calls + emulator.stats('token').calls + emulator.stats('v2').calls,
      deleted: line.deleted,
    };
  };

  const ticks = [];
  try {
    while (ticks.length < maxTicks) {
      const t = await tick();
      ticks.push(t);
      log(
        `  ${anonymous ? 'anonymous' : 'authenticated'} N=${count} tick ${ticks.length}: ${t.read} read, ${t.fromCache} from the cache, ` +
          `${t.notRead} left, ${t.throttled} answered 429, read window ${t.readWindowSeconds} s, ${t.realSeconds.toFixed(1)} s real, CPU ${t.cpuSeconds.toFixed(1)} s`,
      );
      if (t.notRead === 0 && t.keptUnknown === 0) break;
    }
    const firstPass = ticks.length;
    // Steady state: new pushes since the last tick, then one tick.
    const newest = Math.max(...emulator.images(repository).map((image) => image.pushedAt));
    const pushes = Array.from({ length: steadyPushes }, (_, i) =>
      buildxIndex(`steady-${i}`, { tags: [`steady-${i}`], pushedAt: Math.max(clock(), newest) + (i + 1) * 60_000 }),
    );
    emulator.seed(
      repository,
      pushes.flatMap((push) => push.images),
    );
    const steady = await tick();
    log(`  steady state after ${steadyPushes} pushes: ${steady.read} read from the registry, ${steady.fromCache} from the cache`);
    // Safety, whatever the outcome: every remaining index still has every child.
    const left = emulator.images(repository);
    const digests = new Set(left.map((image) => image.digest));
    const broken = left.filter((image) => image.references.some((child) => !digests.has(child))).length;
    const rate = ticks[0].ratePerSecond;
    const windows = ticks.filter((t) => t.notRead > 0).map((t) => t.readWindowSeconds);
    const budget = windows.length > 0 ? windows.reduce((a, b) => a + b, 0) / windows.length : ticks[0].readWindowSeconds;
    const pulls = [...ticks, steady].reduce((sum, t) => sum + t.pulls + t.throttled, 0);
    const throttled = [...ticks, steady].reduce((sum, t) => sum + t.throttled, 0);
    return {
      count,
      indexes,
      anonymous,
      scale,
      access: ticks[0].access,
      rate,
      readBudgetSeconds: budget,
      firstPass,
      expectedTicks: Math.ceil(indexes / (rate * budget)),
      ticks,
      steadyPushes,
      steadyNewManifests: steadyPushes,
      steady,
      manifestPulls: pulls,
      throttled,
      broken,
    };
  } finally {
    await dynamo.close();
    await emulator.close();
  }
}

/**
 * The benchmark: authenticated at ECR Public's image limit, then anonymous on a tenth of it. `scale` is how much
 * faster than real time the clocks run.
 */
async function quotaScale({ scale = 20, authenticatedCount = 100_000, anonymousCount = 10_000, log = () => {} } = {}) {
  const delays = { describe: 100, delete: 50, manifest: 50 };
  const authenticated = await scenario({ count: authenticatedCount, scale, delays, log });
  const anonymous = await scenario({ count: anonymousCount, scale, anonymous: true, delays, log });
  return { scale, delays, rows: [authenticated, anonymous] };
}

module.exports = { quotaScale };

if (require.main === module) {
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  const [count, scale] = process.argv.slice(2).map(Number);
  quotaScale({
    log: console.log,
    ...(count ? { authenticatedCount: count, anonymousCount: Math.ceil(count / 10) } : {}),
    ...(scale ? { scale } : {}),
  }).then((r) => console.log(JSON.stringify({ ...r, rows: r.rows.map(({ ticks, ...row }) => ({ ...row, ticks: ticks.length })) }, null, 1)));
}
