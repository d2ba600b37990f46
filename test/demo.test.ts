/**
 * `npm run demo`, the README's first command, keeps working: the example app's
 * Create → Update → Delete through the shipped bundle against the local ECR Public.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describeIfLocalBackend } from './support/local-rig';

describeIfLocalBackend('the demo')('npm run demo', () => {
  test('plays Create, Update and Delete and leaves exactly the undeclared images', () => {
    const output = execFileSync(process.execPath, [path.join(__dirname, '..', 'example', 'demo.js')], { encoding: 'utf8', timeout: 60_000 });
    expect(output).toMatch(/Create WithdrawnReleases\w+ +SUCCESS\n +deleted: +v0\.9\.0-broken/);
    expect(output).toMatch(/Update WithdrawnReleases\w+ +SUCCESS\n +deleted: +v0\.9\.1-bad\n +failures: v0\.9\.0-broken \(ImageNotFound\)/);
    expect(output).toMatch(/Delete PreviewImages\w+ +SUCCESS\n +deleted: +pr-42, pr-42-debug/);
    const finalState = output.slice(output.lastIndexOf('now holds'));
    expect(finalState).toMatch(/^now holds 3 images:\n.*latest, v1\.0\.0\n.*v0\.9\.0\n.*pr-41\n/);
  });
});
