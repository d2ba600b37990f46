/**
 * `npm run demo`: the example app's whole lifecycle, locally, with no AWS account.
 *
 * Synthesizes example/app.ts, starts a local ECR Public (the project's
 * emulator, local/ecr-public, in this process: Node only), seeds two
 * repositories, then plays Create → a scheduled tick → Update → Delete through
 * the shipped handler bundle exactly as CloudFormation and EventBridge would:
 * the synthesized properties, an event per custom resource, and a ResponseURL
 * that records the answers. For every deletion it says what was declared, in
 * words, and what each event did to each image, and why; at the end, why each
 * image that stays is still there. Then multi-architecture images, and the
 * registry's pull quota with the reference cache (two hourly ticks: the second
 * reads only what was pushed since the first).
 *
 *   npm run demo                    against the emulator
 *   npm run demo -- --backend moto  against moto (needs `npm run setup:backends`)
 */
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { DescribeImagesCommand, ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { buildApp } from './app';
import { EcrPublicImageDeletion } from '../lib';
import { SCHEDULED_EVENT_SOURCE, ScheduledEvent, WireImageId, WireProperties, WireSelection } from '../lib/contract';
import {
  LocalBackend,
  LocalEcrPublic,
  createRepository,
  localBackendMissing,
  seedImage,
  startLocalEcrPublic,
} from '../test/support/local-ecr-public';
import {
  BUNDLE,
  InvocationResult,
  LOCAL_STACK_ID,
  LocalCustomResource,
  LocalStackState,
  ResponseServer,
  invokeHandler,
} from '../test/support/local-cloudformation';
import { LogLine, logLineOf } from './log-line-of';
import { lifecycleAct } from './lifecycle-demo';
import { multiarchAct } from './multiarch-demo';
import { quotaAct } from './quota-demo';

const STACK = 'EcrPublicImageDeletionExample';

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

/** One EcrPublicImageDeletion of the app, as CloudFormation would see it. */
interface Deletion {
  /** Construct path, e.g. EcrPublicImageDeletionExample/WithdrawnReleases. */
  readonly path: string;
  readonly name: string;
  readonly logicalId: string;
  /** Resource properties, with each Ref to a repository replaced by its name, as CloudFormation would. */
  readonly properties: WireProperties;
  /** The schedule expression of its EventBridge rule, if it has one. */
  readonly schedule?: string;
}

/** A stack output whose value is an attribute of a deletion, as `cdk deploy` prints it once the events are answered. */
interface Output {
  readonly name: string;
  /** The deletion's logical ID and the attribute, for a Fn::GetAtt; undefined for a value CloudFormation makes (a Ref). */
  readonly attribute?: { readonly logicalId: string; readonly name: string };
  readonly ref?: string;
}

let outputs: Output[] = [];

function synthesize(context: Record<string, string>): Deletion[] {
  const app = buildApp(context);
  const template = app.synth().getStackByName(STACK).template as Template & { Outputs?: Record<string, { Value: unknown }> };
  outputs = Object.entries(template.Outputs ?? {}).map(([name, { Value }]) => {
    const getAtt = (Value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
    const ref = (Value as { Ref?: string }).Ref;
    return { name, attribute: getAtt ? { logicalId: getAtt[0], name: getAtt[1] } : undefined, ref };
  });
  const repositoryNames = new Map<string, string>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::ECR::PublicRepository') repositoryNames.set(id, String(resource.Properties.RepositoryName));
  }
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value && typeof value === 'object') {
      const ref = (value as { Ref?: string }).Ref;
      if (ref !== undefined && repositoryNames.has(ref)) return repositoryNames.get(ref);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    }
    return value;
  };
  return app.node
    .findAll()
    .filter((c): c is EcrPublicImageDeletion => c instanceof EcrPublicImageDeletion)
    .map((construct) => {
      const stack = Stack.of(construct);
      const logicalId = stack.getLogicalId(construct.resource.node.defaultChild as CfnElement);
      const { ServiceToken: _token, ...properties } = template.Resources[logicalId].Properties;
      const rule = construct.scheduleRule
        ? template.Resources[stack.getLogicalId(construct.scheduleRule.node.defaultChild as CfnElement)]
        : undefined;
      return {
        path: construct.node.path,
        name: construct.node.id,
        logicalId,
        properties: resolve(properties) as WireProperties,
        schedule: rule ? String(rule.Properties.ScheduleExpression) : undefined,
      };
    });
}

// ---------------------------------------------------------------------------
// Properties in words

const list = (items: readonly string[]): string =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
const short = (digest: string | undefined): string => `${(digest ?? '').slice(0, 19)}…`;

function imageIdInWords(id: WireImageId): string {
  if (id.imageTag !== undefined && id.imageDigest !== undefined) return `the tag ${id.imageTag} of image ${short(id.imageDigest)}`;
  if (id.imageTag !== undefined) return `the tag ${id.imageTag}`;
  return `image ${short(id.imageDigest)} with every tag it has`;
}

function selectionInWords(select: WireSelection): string {
  const parts = [
    select.Match === 'all'
      ? 'every image'
      : select.Match === 'untagged'
        ? 'every untagged image'
        : `the tags that match ${list(select.TagPatterns ?? [])}`,
  ];
  if (select.OlderThanSeconds) parts.push(`pushed more than ${Number(select.OlderThanSeconds) / 86_400} days before`);
  if (select.KeepNewest) parts.push(`except the newest ${select.KeepNewest} of them`);
  if (select.ProtectTags) parts.push(`never touching an image tagged ${list(select.ProtectTags)}`);
  return parts.join(', ');
}

function scheduleInWords(expression: string): string {
  const rate = /^rate\((\d+) (\w+)\)$/.exec(expression);
  if (rate) return rate[1] === '1' ? `every ${rate[2].replace(/s$/, '')} (${expression})` : `every ${rate[1]} ${rate[2]} (${expression})`;
  return expression;
}

function describe(deletion: Deletion): string[] {
  const { properties: p } = deletion;
  const what = [...(p.ImageIds ?? []).map(imageIdInWords), ...(p.Select ? [selectionInWords(p.Select)] : [])];
  const events =
    p.DeleteOn.length === 3
      ? 'on Create, Update and Delete'
      : p.DeleteOn.length === 1 && p.DeleteOn[0] === 'Delete'
        ? 'only when it is deleted (with the stack)'
        : `on ${list(p.DeleteOn)}`;
  const lines = [
    `deletes ${list(what)}`,
    `from ${p.RepositoryName}, ${events}${deletion.schedule ? `, and on a schedule: ${scheduleInWords(deletion.schedule)}` : ''}`,
  ];
  if (p.DryRun === 'true') lines.push('dry run: reports what it would delete, and deletes nothing');
  return lines;
}

// ---------------------------------------------------------------------------
// What an event did to each image, and why

interface ListedImage {
  readonly digest: string;
  readonly tags: string[];
  readonly pushedAt: number;
}
type Listing = Map<string, ListedImage>;

async function listRepository(client: ECRPUBLICClient, repositoryName: string): Promise<Listing> {
  const images: Listing = new Map();
  let nextToken: string | undefined;
  do {
    const page = await client.send(new DescribeImagesCommand({ repositoryName, nextToken }));
    for (const detail of page.imageDetails ?? []) {
      const digest = detail.imageDigest ?? '';
      images.set(digest, { digest, tags: [...(detail.imageTags ?? [])].sort(), pushedAt: detail.imagePushedAt?.getTime() ?? 0 });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return images;
}

/** Digests in the order the demo pushed them, to list images oldest first (moto's push times have whole seconds). */
const pushOrder = new Map<string, number>();
async function push(client: ECRPUBLICClient, repositoryName: string, seed: string, tags: string[]): Promise<void> {
  pushOrder.set(await seedImage(client, repositoryName, seed, tags), pushOrder.size);
}

const digestOfTag = (listing: Listing, tag: string): string | undefined => [...listing.values()].find((image) => image.tags.includes(tag))?.digest;
const label = (image: ListedImage): string => (image.tags.length > 0 ? image.tags.join(', ') : `${short(image.digest)} (untagged)`);

/** Tags seen in any listing of the demo: a tag not found that was never there is likely a typo. */
const seenTags = new Set<string>();
function remember(listing: Listing): void {
  for (const image of listing.values()) image.tags.forEach((tag) => seenTags.add(tag));
}

type ReportedId = WireImageId & { imageId?: WireImageId; failureCode?: string; failureReason?: string };

/** The log line of each deletion's last run, by logical ID: what it did, and what it kept and why. */
const lastLogLines = new Map<string, LogLine>();
/** The attributes of each deletion's last answer, by logical ID (the stack outputs read them). */
const lastData = new Map<string, Record<string, string>>();

function deletedInWords(id: WireImageId, before: Listing, after: Listing, dryRun: boolean, byDigest: boolean): string {
  const digest = id.imageDigest ?? (id.imageTag !== undefined ? digestOfTag(before, id.imageTag) : undefined);
  const image = digest ? before.get(digest) : undefined;
  const name = id.imageTag ?? (image ? label(image) : short(id.imageDigest));
  if (dryRun) return `${name}: would be deleted (dry run: nothing deleted)`;
  if (byDigest || id.imageTag === undefined)
    return `${image ? label(image) : name}: image deleted${image && image.tags.length > 0 ? ', with every tag it had' : ''}`;
  const left = digest ? after.get(digest) : undefined;
  if (left) return `${name}: tag removed; image kept: it has another tag (${left.tags.join(', ')})`;
  return `${name}: tag removed; image deleted: it was its last tag`;
}

function failureInWords(failure: ReportedId): string {
  const id = failure.imageId ?? {};
  const name = id.imageTag ?? short(id.imageDigest);
  if (failure.failureCode === 'ImageNotFound') {
    return id.imageTag !== undefined && !seenTags.has(id.imageTag)
      ? `${name}: not found: no image ever had this tag (a typo?); counted in NotFoundCount`
      : `${name}: already gone: nothing to do`;
  }
  return `${name}: ${failure.failureCode} (${failure.failureReason ?? 'no reason given'})`;
}

/** Whether a deletion deletes whole images (by digest) rather than tags. */
const deletesByDigest = (p: WireProperties): boolean => p.Select?.Match === 'all' || p.Select?.Match === 'untagged';

/**
 * Images that left the repository during the event without being reported:
 * moto answers an untagged image's deletion with an empty imageIds list (a
 * known moto gap), so the demo tells them from the listings.
 */
function unreported(before: Listing, after: Listing, reported: readonly WireImageId[]): string[] {
  const reportedDigests = new Set(reported.map((id) => id.imageDigest ?? digestOfTag(before, id.imageTag ?? '')));
  return [...before.values()]
    .filter((image) => !after.has(image.digest) && !reportedDigests.has(image.digest))
    .map((image) => `${label(image)}: image deleted (gone from the listing; this backend's answer did not name it)`);
}

const parse = (json: string | undefined): ReportedId[] => JSON.parse(json ?? '[]') as ReportedId[];

/** Prints what one event did: its verdict, then each image ID reported, in words. */
function report(deletion: Deletion, requestType: string, result: InvocationResult, before: Listing, after: Listing): void {
  const body = result.response?.body;
  const head = `   ${requestType} ${deletion.path}`;
  if (!body) {
    console.log(`${head}: NO ANSWER (exit ${result.exitCode})\n${result.stderr}`);
    process.exitCode = 1;
    return;
  }
  const data = body.Data ?? {};
  if (body.Status === 'FAILED') {
    console.log(`${head}: FAILED: ${body.Reason}`);
    process.exitCode = 1;
    return;
  }
  if (data.DeletionRan !== 'true') {
    console.log(`${head}: SUCCESS, nothing to do: ${requestType} is not in its deleteOn`);
    return;
  }
  const selection = /\(selection: ([^)]*)\)/.exec(body.Reason)?.[1];
  const notFound = Number(data.NotFoundCount ?? '0') > 0 ? `; NotFoundCount ${data.NotFoundCount}` : '';
  console.log(`${head}: SUCCESS${data.DryRun === 'true' ? ' (dry run)' : ''}${notFound}${selection ? `; selection: ${selection}` : ''}`);
  const byDigest = deletesByDigest(deletion.properties);
  const reported = parse(data.ImageIds);
  const lines = [
    ...reported.map((id) => deletedInWords(id, before, after, data.DryRun === 'true', byDigest)),
    ...parse(data.Failures).map(failureInWords),
  ];
  lines.push(...unreported(before, after, reported), ...keptUnknownInWords(Number(data.KeptUnknownCount ?? '0')));
  for (const line of lines.length > 0 ? lines : ['nothing matched: nothing to do']) console.log(`      ${line}`);
}

/**
 * Images a selection kept because their manifests could not be read. moto
 * serves no registry: against it, the handler cannot read whether an untagged
 * image is the signature of a kept one, and keeps it (README, "Fail closed").
 */
function keptUnknownInWords(count: number): string[] {
  return count > 0 ? [`${count} images kept: their manifests could not be read from the registry; a later run deletes them once it answers`] : [];
}

// ---------------------------------------------------------------------------
// Why an image stays

/** A kept image's reason, as the handler logged it, in words. */
function keptInWords(reason: string, name: string, p: WireProperties): string {
  const select = p.Select;
  switch (reason) {
    case 'newest':
      return `kept: one of the newest ${select?.KeepNewest} that ${name} matches (${list(select?.TagPatterns ?? [select?.Match ?? ''])})`;
    case 'protected':
      return `protected: ${name} never touches an image tagged ${list(select?.ProtectTags ?? [])}`;
    case 'referenced':
      return `kept: an image index that ${name} keeps references it`;
    case 'referrer':
      return `kept: it signs or describes an image that ${name} keeps (an OCI 1.1 referrer)`;
    default:
      // Against moto, which serves no registry, an untagged image: is it the signature of a kept one? Unknown, so kept.
      return `kept: ${name} could not read a manifest it needs from the registry, so it keeps what it might wrongly delete`;
  }
}

/**
 * Why an image stays, from the last log line of each deletion of its
 * repository (the handler's own per-image reasons): kept by a selection, and
 * why, or reported by a dry run. An image that no log line names was named or
 * selected by no deletion.
 */
function whyKept(image: ListedImage, deletions: readonly Deletion[]): string {
  const reasons: string[] = [];
  for (const { name, logicalId, properties } of deletions) {
    const logged = lastLogLines.get(logicalId);
    const kept = logged?.keptImages?.find((k) => k.imageDigest === image.digest);
    const reported = logged?.deletedImageIds.some(
      (id) => id.imageDigest === image.digest || (id.imageTag !== undefined && image.tags.includes(id.imageTag)),
    );
    if (kept) reasons.push(keptInWords(kept.reason, name, properties));
    else if (logged?.dryRun && reported) reasons.push(`${name} is a dry run: it reports this image and deletes nothing`);
  }
  return reasons.length > 0 ? reasons.join('; ') : 'not declared: no deletion names it or selects it';
}

async function show(backend: LocalEcrPublic, repositoryName: string, deletions?: readonly Deletion[]): Promise<void> {
  const listing = await listRepository(backend.client, repositoryName);
  remember(listing);
  const images = [...listing.values()].sort((a, b) => (pushOrder.get(a.digest) ?? 0) - (pushOrder.get(b.digest) ?? 0));
  console.log(`   ${repositoryName} holds ${images.length} images${images.length === 0 ? ': empty, so CloudFormation can delete it' : ':'}`);
  for (const image of images) {
    const why = deletions
      ? `  <- ${whyKept(
          image,
          deletions.filter((d) => d.properties.RepositoryName === repositoryName),
        )}`
      : '';
    console.log(`     ${short(image.digest)}  ${image.tags.join(', ') || '(untagged)'}${why}`);
  }
}

/** The stack's outputs as `cdk deploy` prints them, from the attributes of the deletions' last answers. */
function printOutputs(): void {
  console.log('\n   Outputs (as cdk deploy prints them):');
  for (const output of outputs) {
    const value = output.attribute
      ? (lastData.get(output.attribute.logicalId)?.[output.attribute.name] ?? '(no answer yet)')
      : `<the name CloudFormation makes at deployment from the stack's name and ${output.ref}>`;
    console.log(`   ${STACK}.${output.name} = ${value}`);
  }
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  // The SDK warns that Node 20 support ends; irrelevant to a local demo (Lambda runs Node 24).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const backendArgument = process.argv.indexOf('--backend');
  const backendName = backendArgument >= 0 ? process.argv[backendArgument + 1] : 'emulator';
  if (backendName !== 'emulator' && backendName !== 'moto') {
    console.error(`--backend must be emulator (the default) or moto, got '${backendName}'`);
    process.exit(2);
  }
  const missing = localBackendMissing(backendName as LocalBackend);
  if (missing) {
    console.error(`--backend ${backendName}: ${missing}`);
    process.exit(2);
  }
  if (!existsSync(BUNDLE)) {
    console.error(`${path.relative(process.cwd(), BUNDLE)} is missing: run npm run build first.`);
    process.exit(2);
  }

  console.log('1. cdk synth of example/app.ts (context pr=42, withdrawn=v0.9.0-broken): the deletions it declares');
  const deletions = synthesize({ pr: '42', withdrawn: 'v0.9.0-broken' });
  for (const deletion of deletions) {
    console.log(`   ${deletion.path}`);
    for (const line of describe(deletion)) console.log(`      ${line}`);
  }
  const repositories = [...new Set(deletions.map((d) => d.properties.RepositoryName))];
  const [releases, preview] = repositories;

  const backend = await startLocalEcrPublic({ backend: backendName as LocalBackend });
  const server = await ResponseServer.start();
  // The stack's state, as the handler reads it before emptying a repository (DescribeStacks, GetTemplate).
  const stackState = await LocalStackState.start();
  const env = { ...backend.env, ...stackState.env };
  try {
    console.log(`\n2. A local ECR Public (${backend.backend}) at ${backend.endpoint}, seeded with images pushed in this order (oldest first)`);
    for (const repositoryName of repositories) await createRepository(backend.client, repositoryName);
    // keepNewest orders by push time, which moto keeps in whole seconds: one release a second there.
    const pause = backend.backend === 'moto' ? 1_050 : 5;
    for (const version of ['0.6.0', '0.7.0', '0.8.0']) {
      await push(backend.client, releases, `release-${version}`, [`v${version}`]);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    await push(backend.client, releases, 'release-0.9.0', ['v0.9.0', 'v0.9.0-broken']);
    await push(backend.client, releases, 'release-0.9.1', ['v0.9.1-bad']);
    await push(backend.client, releases, 'release-1.0.0', ['v1.0.0', 'latest']);
    await push(backend.client, releases, 'candidate-1.1.0', ['v1.1.0-rc1']);
    await push(backend.client, releases, 'pr-41', ['pr-41']);
    await push(backend.client, releases, 'pr-42', ['pr-42']);
    await push(backend.client, releases, 'pr-42-debug', ['pr-42-debug']);
    await push(backend.client, releases, 'layer-cache-1', []);
    await push(backend.client, preview, 'preview-web', ['web']);
    await push(backend.client, preview, 'preview-worker', ['worker']);
    for (const repositoryName of repositories) await show(backend, repositoryName);

    const resources = new Map(deletions.map((d) => [d.logicalId, new LocalCustomResource(server, { env, logicalResourceId: d.logicalId })]));
    const play = async (deletion: Deletion, requestType: 'Create' | 'Update' | 'Delete', properties?: WireProperties): Promise<void> => {
      const before = await listRepository(backend.client, deletion.properties.RepositoryName);
      remember(before);
      const resource = resources.get(deletion.logicalId)!;
      const wire = properties as unknown as Record<string, unknown>;
      const result =
        requestType === 'Create' ? await resource.create(wire) : requestType === 'Update' ? await resource.update(wire) : await resource.delete();
      report(deletion, requestType, result, before, await listRepository(backend.client, deletion.properties.RepositoryName));
      const logged = logLineOf(result.stdout);
      // The last run that did something: a Delete not in deleteOn says nothing of the images.
      if (logged?.line.action === 'delete') lastLogLines.set(deletion.logicalId, logged.line);
      if (result.response?.body.Data) lastData.set(deletion.logicalId, result.response.body.Data);
    };

    console.log('\n3. CREATE (cdk deploy -c pr=42): every deletion gets a Create event');
    for (const deletion of deletions) await play(deletion, 'Create', deletion.properties);
    printOutputs();
    await show(backend, releases);

    console.log('\n4. A day later, between deployments: a build pushed an untagged image, and the daily schedule ticks');
    await push(backend.client, releases, 'layer-cache-2', []);
    for (const deletion of deletions.filter((d) => d.schedule)) {
      const { ImageIds: _atDeployments, ...selection } = deletion.properties;
      const tick: ScheduledEvent = { Source: SCHEDULED_EVENT_SOURCE, LogicalResourceId: deletion.logicalId, ResourceProperties: selection };
      const before = await listRepository(backend.client, deletion.properties.RepositoryName);
      const result = await invokeHandler(server, tick, { env });
      const { text: logText, line: logged } = logLineOf(result.stdout) ?? {};
      if (!logged || logged.status !== 'SUCCESS') {
        console.log(`   Scheduled ${deletion.path}: FAILED (exit ${result.exitCode})\n${result.stdout}${result.stderr}`);
        process.exitCode = 1;
        continue;
      }
      console.log(`   Scheduled ${deletion.path}: SUCCESS (${deletion.schedule}; no answer is due, the function log has it)`);
      const after = await listRepository(backend.client, deletion.properties.RepositoryName);
      const lines = [
        ...logged.deletedImageIds.map((id) => deletedInWords(id, before, after, false, deletesByDigest(deletion.properties))),
        ...unreported(before, after, logged.deletedImageIds),
        ...keptUnknownInWords((logged.keptImages ?? []).filter((kept) => kept.reason === 'unknown').length),
      ];
      for (const line of lines.length > 0 ? lines : ['nothing matched: nothing to do']) console.log(`      ${line}`);
      lastLogLines.set(deletion.logicalId, logged);
      console.log(
        '\n   Nobody waits for a tick: its record is the one JSON line it writes to the log group (DeletionLogGroup above),\n' +
          '   as `aws logs tail <DeletionLogGroup> --since 1d` shows it (Lambda puts the time, the request ID and INFO before it):',
      );
      console.log(`   ${logText}`);
    }
    await show(backend, releases);

    // The new list has a typo, v0.9.2-bda, a tag no image ever had: NotFoundCount and the reason show it.
    const withdrawn = 'v0.9.0-broken,v0.9.1-bad,v0.9.2-bda';
    console.log(`\n5. UPDATE (cdk deploy -c withdrawn=${withdrawn}, with a typo): only the deletions whose properties changed get an Update`);
    const updated = synthesize({ pr: '42', withdrawn });
    for (const deletion of updated) {
      const previous = deletions.find((d) => d.logicalId === deletion.logicalId);
      if (JSON.stringify(previous?.properties) !== JSON.stringify(deletion.properties)) await play(deletion, 'Update', deletion.properties);
    }
    printOutputs();
    await show(backend, releases);

    console.log('\n6. DELETE (cdk destroy): every deletion gets a Delete event, in reverse order');
    // The stack is being deleted, and its repositories with it: emptyOnDelete may empty its repository.
    stackState.set(LOCAL_STACK_ID, 'DELETE_IN_PROGRESS', { Resources: {} });
    for (const deletion of [...updated].reverse()) await play(deletion, 'Delete');
    console.log('\n   What stays, and why:');
    await show(backend, releases, updated);
    await show(backend, preview, updated);

    await multiarchAct(server);
    await lifecycleAct(server);
    if (backend.backend === 'emulator') await quotaAct(server);
  } finally {
    await stackState.close();
    await server.close();
    await backend.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
