/// <reference types="jest" />
/**
 * The independent backends that tests start to cross-check the project's own
 * code: moto (ECR and DynamoDB implementations in Python, from the project's
 * virtual environment) and the CNCF distribution registry (Debian's `docker-registry`).
 * Each is found, started on a free loopback port and stopped here, and nowhere
 * else. A missing backend skips its suite on a developer's machine (named,
 * with the reason, after jest's summary) and fails it in CI (CI=true), naming
 * what is missing and how to install it.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export type BackendName = 'moto' | 'docker-registry';

const PROJECT_ROOT = path.join(__dirname, '..', '..');
const MOTO_LAUNCHER = path.join(__dirname, 'moto_ecr_public.py');

/** True in CI, where a missing backend fails the run instead of skipping. */
export const IN_CI = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());

export const INSTALL_HINTS: Record<BackendName, string> = {
  moto: 'run `npm run setup:backends` (creates .venv and installs requirements-dev.txt), or set MOTO_PYTHON to a python that has moto[server]',
  'docker-registry':
    'run `sudo apt-get install docker-registry` (Debian/Ubuntu), or set DOCKER_REGISTRY_BIN to a CNCF distribution registry v2 binary',
};

/** The Python interpreter that has moto's server: $MOTO_PYTHON, the project's .venv, then python3. */
export function motoPython(): string | undefined {
  const candidates = [process.env.MOTO_PYTHON, path.join(PROJECT_ROOT, '.venv', 'bin', 'python'), 'python3'];
  for (const candidate of candidates) {
    if (!candidate) continue;
    if (candidate.includes(path.sep) && !existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ['-c', 'import moto.server, flask'], { encoding: 'utf8' });
    if (!probe.error && probe.status === 0) return candidate;
  }
  return undefined;
}

/** The distribution registry's binary: $DOCKER_REGISTRY_BIN, then `docker-registry` on PATH. */
export function dockerRegistryBinary(): string | undefined {
  const candidate = process.env.DOCKER_REGISTRY_BIN ?? 'docker-registry';
  const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
  return !probe.error && probe.status === 0 ? candidate : undefined;
}

/** Why the backend cannot start here, or undefined when it can. */
export function backendMissing(backend: BackendName): string | undefined {
  const found = backend === 'moto' ? motoPython() : dockerRegistryBinary();
  if (found) return undefined;
  return backend === 'moto'
    ? `moto's server was not found (tried $MOTO_PYTHON, .venv/bin/python, python3); ${INSTALL_HINTS.moto}`
    : `the distribution registry was not found (tried $DOCKER_REGISTRY_BIN, docker-registry on PATH); ${INSTALL_HINTS['docker-registry']}`;
}

/** What a suite does about its backends: run, skip (a developer's machine; named after jest's summary), or fail (CI). */
export type SuiteVerdict = { readonly kind: 'run' } | { readonly kind: 'skip' | 'fail'; readonly reason: string };

export function suiteVerdict(missing: readonly string[], inCi: boolean): SuiteVerdict {
  if (missing.length === 0) return { kind: 'run' };
  return { kind: inCi ? 'fail' : 'skip', reason: missing.join('; ') };
}

/**
 * Title prefix of the marker test that a skipped suite holds: the reporter
 * (skipped-suites-reporter.cjs) names the suite and this reason after jest's summary.
 */
export const SKIP_REASON_PREFIX = 'skipped because ';

/**
 * `describe` when every backend named can start here. Otherwise, on a
 * developer's machine, `describe.skip`, with a marker test whose title is the
 * reason, which the skipped-suites reporter prints after jest's summary; in
 * CI, a suite whose one test fails with what is missing and how to install it.
 */
export function describeWithBackends(backends: BackendName[], what: string, inCi = IN_CI): jest.Describe {
  const verdict = suiteVerdict(
    backends.map(backendMissing).filter((reason): reason is string => reason !== undefined),
    inCi,
  );
  if (verdict.kind === 'run') return describe;
  if (verdict.kind === 'skip') {
    const skipped = (name: string | number | jest.FunctionLike, fn: jest.EmptyFunction) =>
      describe.skip(String(name), () => {
        test(`${SKIP_REASON_PREFIX}${what} needs ${backends.join(' and ')}: ${verdict.reason}`, () => undefined);
        fn();
      });
    return Object.assign(skipped, { only: skipped, skip: describe.skip, each: describe.each }) as unknown as jest.Describe;
  }
  const failing = (name: string | number | jest.FunctionLike) =>
    describe(String(name), () => {
      test(`needs ${backends.join(' and ')} (CI must install it)`, () => {
        throw new Error(`${what} cannot run: ${verdict.reason}`);
      });
    });
  return Object.assign(failing, { only: failing, skip: describe.skip, each: describe.each }) as unknown as jest.Describe;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningBackend {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts a child process and resolves once `ready()` holds; kills it and rejects on exit or timeout. */
async function startChild(
  name: string,
  command: string,
  args: string[],
  ready: () => Promise<boolean>,
  timeoutMs: number,
  cleanup = () => {},
): Promise<RunningBackend & { child: ChildProcess }> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      cleanup();
      throw new Error(`${name} did not start (${command} ${args.join(' ')}):\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        cleanup();
        resolve();
      };
      if (exited) return done();
      child.once('exit', done);
      child.kill('SIGTERM');
    });
  return { child, endpoint: '', stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts moto's server (ECR answering for `ecr-public`, and DynamoDB) on a free loopback port. */
export async function startMoto(options: { startTimeoutMs?: number } = {}): Promise<RunningBackend> {
  const python = motoPython();
  if (!python) throw new Error(`cannot start moto: ${backendMissing('moto')}`);
  const port = await freePort();
  const started = await startChild('moto', python, [MOTO_LAUNCHER, String(port)], () => canConnect(port), options.startTimeoutMs ?? 30_000);
  return { endpoint: `http://127.0.0.1:${port}`, stop: started.stop };
}

/** Starts the CNCF distribution registry on a free loopback port, storing in a temporary folder, deletes enabled. */
export async function startDockerRegistry(options: { startTimeoutMs?: number } = {}): Promise<RunningBackend> {
  const binary = dockerRegistryBinary();
  if (!binary) throw new Error(`cannot start the distribution registry: ${backendMissing('docker-registry')}`);
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'distribution-'));
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const ready = async () => {
    try {
      return (await fetch(`${endpoint}/v2/`)).status === 200;
    } catch {
      return false;
    }
  };
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const started = await startChild('docker-registry', binary, ['serve', config], ready, options.startTimeoutMs ?? 30_000, cleanup);
  return { endpoint, stop: started.stop };
}
