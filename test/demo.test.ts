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
  const finalState = output.slice(output.lastIndexOf('now holds'));
  expect(finalState).toMatch(/^now holds 3 images:\n.*latest, v1\.0\.0\n.*v0\.9\.0\n.*pr-41\n/);
}

describe('npm run demo', () => {
  test('plays Create, Update and Delete and leaves exactly the undeclared images', () => {
    const output = execFileSync(process.execPath, [DEMO], { encoding: 'utf8', timeout: 60_000 });
    expect(output).toContain('local ECR Public (emulator)');
    expectLifecycle(output);
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
