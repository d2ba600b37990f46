/**
 * `npm run demo`: the example app's whole lifecycle, locally, with no AWS account.
 *
 * Synthesizes example/app.ts, starts a local ECR Public (the project's
 * emulator, local/ecr-public, in this process: Node only), seeds a few images,
 * then plays Create → Update → Delete through the shipped handler bundle
 * exactly as CloudFormation would: the synthesized properties, an event per
 * custom resource, and a ResponseURL that records the answers.
 *
 *   npm run demo                    against the emulator
 *   npm run demo -- --backend moto  against moto (needs `npm run setup:backends`)
 */
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { buildApp } from './app';
import {
  LocalBackend,
  LocalEcrPublic,
  createRepository,
  listImages,
  localBackendMissing,
  seedImage,
  startLocalEcrPublic,
} from '../test/support/local-ecr-public';
import { BUNDLE, InvocationResult, LocalCustomResource, ResponseServer } from '../test/support/local-cloudformation';

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

function synthesize(context: Record<string, string>): Template {
  const assembly = buildApp(context).synth();
  return assembly.getStackByName('EcrPublicImageDeletionExample').template as Template;
}

/** The custom resources' properties with each Ref to the repository replaced by its name, as CloudFormation would. */
function deletionsOf(template: Template): Map<string, Record<string, unknown>> {
  const names = new Map<string, string>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::ECR::PublicRepository') names.set(id, String(resource.Properties.RepositoryName));
  }
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value && typeof value === 'object') {
      const ref = (value as { Ref?: string }).Ref;
      if (ref !== undefined && names.has(ref)) return names.get(ref);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    }
    return value;
  };
  const deletions = new Map<string, Record<string, unknown>>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'Custom::EcrPublicImageDeletion') {
      const { ServiceToken: _token, ...properties } = resource.Properties;
      deletions.set(id, resolve(properties) as Record<string, unknown>);
    }
  }
  return deletions;
}

const describeIds = (json: string | undefined): string =>
  (
    JSON.parse(json ?? '[]') as Array<{
      imageTag?: string;
      imageDigest?: string;
      imageId?: { imageTag?: string; imageDigest?: string };
      failureCode?: string;
    }>
  )
    .map((entry) => {
      const id = entry.imageId ?? entry;
      const name = id.imageTag ?? `${id.imageDigest?.slice(0, 19)}…`;
      return entry.failureCode ? `${name} (${entry.failureCode})` : name;
    })
    .join(', ') || '-';

function report(logicalId: string, requestType: string, result: InvocationResult): void {
  const body = result.response?.body;
  if (!body) {
    console.log(`  ${requestType} ${logicalId}: NO ANSWER (exit ${result.exitCode})\n${result.stderr}`);
    process.exitCode = 1;
    return;
  }
  const data = body.Data ?? {};
  const ran = data.DeletionRan === 'true';
  console.log(`  ${requestType.padEnd(6)} ${logicalId.padEnd(34)} ${body.Status}${ran ? '' : ' (not in deleteOn: no call)'}`);
  if (ran) {
    console.log(`           deleted:  ${describeIds(data.ImageIds)}`);
    console.log(`           failures: ${describeIds(data.Failures)}`);
  }
  if (body.Status === 'FAILED') console.log(`           reason:   ${body.Reason}`);
}

async function showRepository(backend: LocalEcrPublic, repositoryName: string): Promise<void> {
  const images = await listImages(backend.client, repositoryName);
  console.log(`  repository ${repositoryName} now holds ${images.size} images:`);
  for (const [digest, tags] of images) console.log(`    ${digest.slice(0, 19)}…  ${tags.join(', ')}`);
  console.log('');
}

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
    console.error(`${path.relative(process.cwd(), BUNDLE)} is missing: run npm run build (npm ci runs it) first.`);
    process.exit(2);
  }

  console.log('1. cdk synth of example/app.ts (context pr=42, withdrawn=v0.9.0-broken)');
  const first = synthesize({ pr: '42', withdrawn: 'v0.9.0-broken' });
  const deletions = deletionsOf(first);
  const repositoryName = String([...deletions.values()][0].RepositoryName);
  for (const [id, props] of deletions) console.log(`   ${id}: ${JSON.stringify(props)}`);

  const backend = await startLocalEcrPublic({ backend: backendName as LocalBackend });
  const server = await ResponseServer.start();
  const env = backend.env;
  try {
    console.log(`\n2. local ECR Public (${backend.backend}) at ${backend.endpoint}: seeding ${repositoryName}`);
    await createRepository(backend.client, repositoryName);
    await seedImage(backend.client, repositoryName, 'release-1.0.0', ['v1.0.0', 'latest']);
    await seedImage(backend.client, repositoryName, 'release-0.9.0', ['v0.9.0-broken', 'v0.9.0']);
    await seedImage(backend.client, repositoryName, 'release-0.9.1', ['v0.9.1-bad']);
    await seedImage(backend.client, repositoryName, 'pr-41', ['pr-41']);
    await seedImage(backend.client, repositoryName, 'pr-42', ['pr-42']);
    await seedImage(backend.client, repositoryName, 'pr-42-debug', ['pr-42-debug']);
    await showRepository(backend, repositoryName);

    const resources = new Map([...deletions.keys()].map((id) => [id, new LocalCustomResource(server, { env, logicalResourceId: id })]));

    console.log('3. CREATE (first deployment)');
    for (const [id, props] of deletions) report(id, 'Create', await resources.get(id)!.create(props));
    await showRepository(backend, repositoryName);

    console.log('4. UPDATE (cdk deploy -c withdrawn=v0.9.0-broken,v0.9.1-bad): changed resources only');
    const second = deletionsOf(synthesize({ pr: '42', withdrawn: 'v0.9.0-broken,v0.9.1-bad' }));
    for (const [id, props] of second) {
      if (JSON.stringify(props) !== JSON.stringify(deletions.get(id))) report(id, 'Update', await resources.get(id)!.update(props));
    }
    await showRepository(backend, repositoryName);

    console.log('5. DELETE (cdk destroy): the preview images of PR 42 go, the rest stays');
    for (const id of [...second.keys()].reverse()) report(id, 'Delete', await resources.get(id)!.delete());
    await showRepository(backend, repositoryName);
  } finally {
    await server.close();
    await backend.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
