/**
 * The example app of cdk.json synthesizes offline, the way the README shows it,
 * both in-process and through the CDK CLI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../example/app';

const root = path.join(__dirname, '..');

test('the example stack holds one function, the two repositories and the six deletions it declares', () => {
  const stack = buildApp({ pr: '7', withdrawn: 'a,b' }).node.findChild('EcrPublicImageDeletionExample');
  const template = Template.fromStack(stack as never);
  template.resourceCountIs('AWS::Lambda::Function', 1);
  template.resourceCountIs('Custom::EcrPublicImageDeletion', 6);
  template.resourceCountIs('AWS::ECR::PublicRepository', 2);
  template.resourceCountIs('AWS::Events::Rule', 1);
  template.hasResourceProperties('Custom::EcrPublicImageDeletion', {
    ImageIds: [{ imageTag: 'pr-7' }, { imageTag: 'pr-7-debug' }],
    DeleteOn: ['Delete'],
  });
  template.hasResourceProperties('Custom::EcrPublicImageDeletion', {
    ImageIds: [{ imageTag: 'a' }, { imageTag: 'b' }],
    DeleteOn: ['Create', 'Update'],
  });
});

test('npx cdk synth works offline with cdk.json', () => {
  expect(existsSync(path.join(root, 'example', 'app.js'))).toBe(true);
  const out = mkdtempSync(path.join(tmpdir(), 'cdk-out-'));
  try {
    execFileSync(process.execPath, [require.resolve('aws-cdk/bin/cdk'), 'synth', '--no-notices', '--quiet', '-o', out], {
      cwd: root,
      stdio: 'pipe',
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    });
    const template = JSON.parse(readFileSync(path.join(out, 'EcrPublicImageDeletionExample.template.json'), 'utf8'));
    const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types.filter((t) => t === 'Custom::EcrPublicImageDeletion')).toHaveLength(6);
    expect(types).toContain('AWS::ECR::PublicRepository');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
