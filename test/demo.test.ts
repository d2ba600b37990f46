/**
 * `npm run demo`, the README's first command, keeps working: the example app's
 * Create → Update → Delete through the shipped bundle against the local ECR Public.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeWithBackends } from './support/backends';

const DEMO = path.join(__dirname, '..', 'example', 'demo.js');

/** The demo's lifecycle, as its output shows it. */
function expectLifecycle(output: string): void {
  expect(output).toMatch(/Create WithdrawnReleases\w+ +SUCCESS\n +deleted: +v0\.9\.0-broken/);
  expect(output).toMatch(/Update WithdrawnReleases\w+ +SUCCESS\n +deleted: +v0\.9\.1-bad\n +failures: v0\.9\.0-broken \(ImageNotFound\)/);
  expect(output).toMatch(/Delete PreviewImages\w+ +SUCCESS\n +deleted: +pr-42, pr-42-debug/);
  const beforeAct = output.slice(0, output.indexOf('6. MULTI-ARCHITECTURE'));
  expect(beforeAct.slice(beforeAct.lastIndexOf('now holds'))).toMatch(/^now holds 3 images:\n.*latest, v1\.0\.0\n.*v0\.9\.0\n.*pr-41\n/);
}

/** The multi-architecture act, in both server behaviours: the dry run lists what the real run deletes, and no index breaks. */
function expectMultiArchitectureAct(output: string): void {
  for (const behaviour of ['refuse', 'allow']) {
    const act = output.slice(output.indexOf(`server behaviour "${behaviour}"`));
    const dry = /dry run would delete: (.*)\n/.exec(act)![1].split(', ').sort();
    const real = /real run SUCCESS: deleted (.*); kept as referenced 6\n/.exec(act)![1].split(', ').sort();
    expect(dry).toEqual(real);
    expect(dry).toHaveLength(10);
    expect(act).toMatch(/index v2\.0\.0, latest +<- one of the newest 2\n( +\w+ image \(untagged\) +<- child of v2\.0\.0\n){4}/);
    expect(act).toMatch(/index v1\.0\.0 +<- protected\n +\w+ image v1\.0\.0-amd64 +<- child of v1\.0\.0/);
    expect(act).toContain('registry down, after pushing an untagged index: SUCCESS, deleted 0, kept because references unknown 11');
  }
  expect(output).not.toContain('MISSING');
}

describe('npm run demo', () => {
  test('plays Create, Update and Delete and leaves exactly the undeclared images', () => {
    const output = execFileSync(process.execPath, [DEMO], { encoding: 'utf8', timeout: 60_000 });
    expect(output).toContain('local ECR Public (emulator)');
    expectLifecycle(output);
    expectMultiArchitectureAct(output);
  });

  test('needs nothing but Node: it runs with a PATH that holds only node (no python3)', () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), 'node-only-'));
    try {
      symlinkSync(process.execPath, path.join(bin, 'node'));
      const output = execFileSync(path.join(bin, 'node'), [DEMO], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: bin } });
      expectLifecycle(output);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describeWithBackends(['moto'], 'the demo against moto')('npm run demo -- --backend moto', () => {
  test('plays the same lifecycle against moto', () => {
    const output = execFileSync(process.execPath, [DEMO, '--backend', 'moto'], { encoding: 'utf8', timeout: 60_000 });
    expect(output).toContain('local ECR Public (moto)');
    expectLifecycle(output);
  });
});
