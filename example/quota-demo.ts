/**
 * The reads act of `npm run demo`: ECR Public's pull quota and the reference
 * cache. A repository of tagged buildx pushes (every index kept by
 * untaggedImages(), and read to keep its children) on the project's local ECR
 * Public enforcing the documented pull rates, a local DynamoDB holding the
 * stack's reference cache, and two hourly ticks of the schedule through the
 * shipped handler bundle: the first reads every index (authenticated, paced),
 * the second, after new pushes, reads only the new indexes; the rest comes
 * from the cache. Every figure is the handler's own, from its log line.
 */
import { SCHEDULED_EVENT_SOURCE, ScheduledEvent, WireProperties } from '../lib/contract';
import { createReferenceCacheTable, startLocalDynamoDb } from '../local/dynamodb';
import { EcrPublicEmulator, buildxIndex, singleImage, startEcrPublicEmulator } from '../local/ecr-public';
import { ResponseServer, invokeHandler } from '../test/support/local-cloudformation';
import { logLineOf } from './log-line-of';

const REPOSITORY = 'demo/reads';
const TABLE = 'demo-reference-cache';
const HOUR = 3_600_000;

/** What the log line says of the reads (lambda/manifest-reads.ts). */
interface Reads {
  readonly fromCache: number;
  readonly fromRegistry: number;
  readonly notRead: number;
  readonly access?: string;
  readonly ratePerSecond?: number;
  readonly throttled: number;
  readonly cacheStored: number;
}

const short = (digest: string) => digest.slice(7, 19);

async function tick(server: ResponseServer, env: Record<string, string>, emulator: EcrPublicEmulator, n: number): Promise<Reads | undefined> {
  const properties: WireProperties = {
    RepositoryName: REPOSITORY,
    Select: { Match: 'untagged' },
    DeleteOn: ['Create', 'Update', 'Delete'],
    FailOnImageFailure: 'true',
    DryRun: 'false',
    ApiRegion: 'us-east-1',
  };
  const event: ScheduledEvent = { Source: SCHEDULED_EVENT_SOURCE, LogicalResourceId: 'UntaggedImages', ResourceProperties: properties };
  emulator.resetStats();
  const result = await invokeHandler(server, event, { env });
  const logged = logLineOf(result.stdout);
  const line = logged?.line as unknown as { status: string; deleted: number; selection: { reads: Reads } } | undefined;
  if (!line || line.status !== 'SUCCESS') {
    console.log(`   tick ${n}: FAILED (exit ${result.exitCode})\n${result.stdout}${result.stderr}`);
    process.exitCode = 1;
    return undefined;
  }
  const reads = line.selection.reads;
  const pulls = emulator.pulls();
  console.log(
    `   tick ${n}: ${line.status}, deleted ${line.deleted}; manifests read from the registry ${reads.fromRegistry - reads.notRead}, ` +
      `from the reference cache ${reads.fromCache}, stored ${reads.cacheStored}` +
      (reads.fromRegistry > 0
        ? ` (${reads.access}, paced at ${reads.ratePerSecond} a second; answered 429: ${reads.throttled})`
        : ' (the registry was not asked)'),
  );
  console.log(`      the registry counted ${pulls.authenticated.pulls} authenticated and ${pulls.anonymous.pulls} anonymous pulls`);
  return reads;
}

/** Plays the act. */
export async function quotaAct(server: ResponseServer): Promise<void> {
  console.log("\n9. READS AT SCALE: ECR Public's pull quota and the reference cache, two hourly ticks of untaggedImages()");
  console.log(
    '   The local ECR Public enforces the documented pull rates (10 a second per account authenticated, 1 per address\n' +
      '   anonymous); the handler authenticates (GetAuthorizationToken), paces its reads below the quota, and keeps what each\n' +
      "   index references in the stack's DynamoDB table (here a local one): a digest's manifest never changes, so each index\n" +
      "   is read from the registry once in its lifetime. The figures are from the handler's log line of each tick.",
  );
  const emulator = await startEcrPublicEmulator({ pullRates: 'documented' });
  const dynamo = await startLocalDynamoDb({ region: 'eu-central-1' });
  try {
    createReferenceCacheTable(dynamo.store, TABLE);
    const env = {
      AWS_ENDPOINT_URL_ECR_PUBLIC: emulator.endpoint,
      ECR_PUBLIC_REGISTRY_ENDPOINT: emulator.registryEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      REFERENCE_CACHE_TABLE: TABLE,
    };
    const now = Date.now();
    emulator.createRepository(REPOSITORY);
    const releases = Array.from({ length: 8 }, (_, i) => buildxIndex(`reads-v1.${i}`, { tags: [`v1.${i}`], pushedAt: now - (20 - i) * HOUR }));
    emulator.seed(REPOSITORY, [...releases.flatMap((release) => release.images), singleImage('reads-cache-layer', { pushedAt: now - 2 * HOUR })]);
    console.log(`   ${REPOSITORY}: 8 tagged releases (an index and 4 children each) and 1 untagged image`);
    await tick(server, env, emulator, 1);
    console.log('      (the 8 indexes, to keep their children, and the untagged image: is it the signature of a kept one?)');

    const pushed = Array.from({ length: 3 }, (_, i) => buildxIndex(`reads-v2.${i}`, { tags: [`v2.${i}`], pushedAt: now - HOUR + i * 60_000 }));
    emulator.seed(
      REPOSITORY,
      pushed.flatMap((release) => release.images),
    );
    console.log(`   an hour later, 3 new releases were pushed: indexes ${pushed.map((release) => short(release.index.digest)).join(', ')}`);
    const second = await tick(server, env, emulator, 2);
    const read = second ? second.fromRegistry - second.notRead : undefined;
    console.log(
      `   The second tick read ${read === pushed.length ? `only the ${read} new indexes` : `${read ?? 'no'} manifests (${pushed.length} are new)`}; ` +
        `the ${second?.fromCache ?? 0} it already knew came from the cache. On a repository of 20,000\n` +
        '   releases the first pass takes several ticks (what one tick cannot read, the next one reads, from where the cache left\n' +
        '   off), and every tick after that reads what was pushed since: docs/registry-quotas-and-cache.md.',
    );
  } finally {
    await dynamo.close();
    await emulator.close();
  }
}
