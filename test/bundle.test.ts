/**
 * What the shipped handler bundle is made of (esbuild's metafile, written by
 * `npm run bundle`): the handler never pulls in the CDK, and the SDK's default
 * credential chain stays out (lambda/client.ts takes credentials from the
 * environment, where Lambda puts them).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

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
