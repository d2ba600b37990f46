/**
 * What the shipped handler bundle is made of (esbuild's metafile, written by
 * `npm run bundle`): the handler never pulls in the CDK, and the SDK's default
 * credential chain stays out (lambda/client.ts takes credentials from the
 * environment, where Lambda puts them). The CloudFormation and DynamoDB
 * clients sit in files of their own, loaded on first use.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const metafilePath = path.join(__dirname, '..', 'dist', 'handler-metafile.json');

function bundledPackages(): Set<string> {
  const metafile = JSON.parse(readFileSync(metafilePath, 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const inputs = Object.values(metafile.outputs).flatMap((output) => Object.keys(output.inputs));
  return new Set(inputs.map((input) => input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? input.split('/')[0]));
}

test('the bundle holds the SDK clients, the contract and the handler, and neither the CDK nor the default credential chain', () => {
  expect(existsSync(metafilePath)).toBe(true);
  const packages = bundledPackages();
  expect(packages).toContain('@aws-sdk/client-ecr-public');
  expect(packages).toContain('@aws-sdk/credential-provider-env');
  // The stack's state (a rollback? is the repository being deleted?): DescribeStacks, GetTemplate and ListStackResources only.
  expect(packages).toContain('@aws-sdk/client-cloudformation');
  // The reference cache: BatchGetItem and BatchWriteItem on the stack's table.
  expect(packages).toContain('@aws-sdk/client-dynamodb');
  expect(packages).toContain('lambda');
  expect(packages).toContain('lib');
  for (const absent of [
    'aws-cdk-lib',
    'constructs',
    '@aws-sdk/credential-provider-node',
    '@aws-sdk/credential-provider-sso',
    '@aws-sdk/credential-provider-ini',
    '@aws-sdk/nested-clients',
  ]) {
    expect(packages).not.toContain(absent);
  }
});

test('from lib/, the bundle takes only the files that import neither aws-cdk-lib nor constructs', () => {
  const metafile = JSON.parse(readFileSync(metafilePath, 'utf8')) as { inputs: Record<string, unknown> };
  const fromLib = Object.keys(metafile.inputs).filter((input) => input.startsWith('lib/'));
  expect(fromLib.sort()).toEqual(['lib/contract.ts', 'lib/validation.ts']);
});

test('of the CloudFormation client, the bundle keeps the three commands the handler sends and no other', () => {
  const metafile = JSON.parse(readFileSync(metafilePath, 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
  };
  const kept = Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([input, { bytesInOutput }]) => input.includes('client-cloudformation/dist-es/commands/') && bytesInOutput > 0)
      .map(([input]) => path.basename(input, '.js')),
  );
  expect(kept.sort()).toEqual(['DescribeStacksCommand', 'GetTemplateCommand', 'ListStackResourcesCommand']);
});

test('the CloudFormation client sits in stack-state.js, which the handler requires only when it reads the stack state', () => {
  const metafile = JSON.parse(readFileSync(metafilePath, 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
  };
  const packagesOf = (output: string) =>
    new Set(
      Object.entries(metafile.outputs[output].inputs)
        .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
        .map(([input]) => input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? input.split('/')[0]),
    );
  const handler = packagesOf('assets/handler/index.js');
  const stackState = packagesOf('assets/handler/stack-state.js');
  expect(handler).not.toContain('@aws-sdk/client-cloudformation');
  expect(stackState).toContain('@aws-sdk/client-cloudformation');
  expect(stackState).not.toContain('@aws-sdk/client-ecr-public');
  expect(stackState).not.toContain('@aws-sdk/credential-provider-node');
  expect(readFileSync(path.join(__dirname, '..', 'assets', 'handler', 'index.js'), 'utf8')).toContain('require("./stack-state")');
});

/** The packages one output file holds code of. */
function packagesIn(output: string): Set<string> {
  const metafile = JSON.parse(readFileSync(metafilePath, 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
  };
  return new Set(
    Object.entries(metafile.outputs[output].inputs)
      .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
      .map(([input]) => input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? input.split('/')[0]),
  );
}

test('the DynamoDB client sits in reference-cache.js alone, with the two batch commands the cache sends', () => {
  const cache = packagesIn('assets/handler/reference-cache.js');
  expect(cache).toContain('@aws-sdk/client-dynamodb');
  for (const absent of ['@aws-sdk/client-ecr-public', '@aws-sdk/client-cloudformation', '@aws-sdk/credential-provider-node', 'aws-cdk-lib']) {
    expect(cache).not.toContain(absent);
  }
  expect(packagesIn('assets/handler/index.js')).not.toContain('@aws-sdk/client-dynamodb');
  expect(packagesIn('assets/handler/stack-state.js')).not.toContain('@aws-sdk/client-dynamodb');
  const metafile = JSON.parse(readFileSync(metafilePath, 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
  };
  const kept = Object.entries(metafile.outputs['assets/handler/reference-cache.js'].inputs)
    .filter(([input, { bytesInOutput }]) => input.includes('client-dynamodb/dist-es/commands/') && bytesInOutput > 0)
    .map(([input]) => path.basename(input, '.js'));
  // DescribeEndpoints comes with the client's endpoint discovery middleware, which only calls it when discovery is enabled (it is not).
  expect(kept.sort()).toEqual(['BatchGetItemCommand', 'BatchWriteItemCommand', 'DescribeEndpointsCommand']);
});

test('the loader, bundled with the handler, requires reference-cache.js on first use and holds no DynamoDB client', () => {
  const root = path.join(__dirname, '..');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'loader-bundle-'));
  try {
    const outfile = path.join(dir, 'loader.js');
    // bundle-options.mjs is an ES module, which jest cannot import: a child Node process bundles with it.
    const script = [
      "import { build } from 'esbuild';",
      `import { handlerBuildOptions } from ${JSON.stringify(pathToFileURL(path.join(root, 'lambda', 'bundle-options.mjs')).href)};`,
      `const result = await build(handlerBuildOptions(${JSON.stringify(path.join(root, 'lambda', 'reference-cache-loader.ts'))}, ${JSON.stringify(outfile)}));`,
      'process.stdout.write(JSON.stringify(Object.keys(result.metafile.inputs)));',
    ].join('\n');
    const inputs = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })) as string[];
    expect(inputs).toContain('lambda/reference-cache-loader.ts');
    expect(inputs.filter((input) => input.includes('client-dynamodb') || input.includes('lambda/reference-cache.ts'))).toEqual([]);
    expect(readFileSync(outfile, 'utf8')).toContain('require("./reference-cache")');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
