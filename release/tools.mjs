// The tools release:check runs, installed by the project's own files:
//  - actionlint, from the Go module proxy at a pinned version, built into
//    .cache/release/bin (its modules in the languages check's Go module cache);
//  - twine, pinned in requirements-dev.txt, in .venv (npm run setup:backends);
//  - jsii-diff and jsii-pacmak, npm devDependencies.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { root } from './api-diff.mjs';

export const ACTIONLINT_VERSION = 'v1.7.12';
const goCache = path.join(root, '.cache', 'languages', 'go');

/** The environment of the Go commands: the languages check's caches, no VCS stamp, this machine's Go only. */
export const goEnv = {
  ...process.env,
  GOMODCACHE: path.join(goCache, 'mod'),
  GOCACHE: path.join(goCache, 'build'),
  GOPATH: path.join(goCache, 'path'),
  GOFLAGS: '-modcacherw -buildvcs=false',
  GOTOOLCHAIN: 'local',
};

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  return result;
}

/** The path of actionlint at ACTIONLINT_VERSION, built with `go install` on first use. */
export function actionlint() {
  const bin = path.join(root, '.cache', 'release', 'bin', ACTIONLINT_VERSION);
  const exe = path.join(bin, 'actionlint');
  if (!existsSync(exe)) {
    const result = run('go', ['install', `github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}`], { env: { ...goEnv, GOBIN: bin } });
    if (result.status !== 0) throw new Error(`go install actionlint@${ACTIONLINT_VERSION} failed:\n${result.stderr.trim()}`);
  }
  return exe;
}

/** The path of twine in .venv; installs requirements-dev.txt there when it is missing. */
export function twine() {
  const exe = path.join(root, '.venv', 'bin', 'twine');
  if (!existsSync(exe)) {
    const setup = run('bash', [path.join(root, 'test', 'support', 'setup-backends.sh')]);
    if (setup.status !== 0 || !existsSync(exe))
      throw new Error(`twine is not in .venv and npm run setup:backends did not install it:\n${setup.stderr.trim()}`);
  }
  return exe;
}

export { run };
