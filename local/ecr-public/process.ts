/**
 * Starts the emulator as a child process (`node cli.js`) on a free loopback
 * port: for a benchmark that must not share the measured process's event loop,
 * or a tool in another language. Needs the compiled cli.js (`npm run build`).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { ReferencedImageDeletion } from './store';

export interface EmulatorProcess {
  readonly endpoint: string;
  readonly registryEndpoint: string;
  readonly child: ChildProcess;
  /** POST /__emulator/<action> with a JSON body; resolves with the JSON answer. */
  control(action: string, input?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

export const EMULATOR_CLI = path.join(__dirname, 'cli.js');

export async function startEcrPublicEmulatorProcess(
  options: { referencedImageDeletion?: ReferencedImageDeletion; startTimeoutMs?: number } = {},
): Promise<EmulatorProcess> {
  if (!existsSync(EMULATOR_CLI)) throw new Error(`${EMULATOR_CLI} is missing: run npm run build first`);
  const child = spawn(process.execPath, [EMULATOR_CLI, '--referenced-image-deletion', options.referencedImageDeletion ?? 'refuse'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr = (stderr + String(chunk)).slice(-4000)));
  const started = await new Promise<{ endpoint: string; registryEndpoint: string }>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the emulator did not start within ${options.startTimeoutMs ?? 10_000} ms:\n${stderr}`));
    }, options.startTimeoutMs ?? 10_000);
    child.stdout?.on('data', (chunk) => {
      stdout += String(chunk);
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited with ${code} before it listened:\n${stderr}`));
    });
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  return {
    ...started,
    child,
    async control(action, input = {}) {
      const answer = await fetch(`${started.endpoint}/__emulator/${action}`, { method: 'POST', body: JSON.stringify(input) });
      const body = await answer.json();
      if (!answer.ok) throw new Error(`emulator control ${action}: ${JSON.stringify(body)}`);
      return body;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
