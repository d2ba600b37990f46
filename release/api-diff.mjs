// jsii-diff between two jsii assemblies: the API changes that break a user of
// any language (a removed or renamed type or member, a narrowed type, a new
// required property...). I/O: writes each assembly into a package folder under
// .cache/release/api/ (jsii-diff loads a package, resolving aws-cdk-lib and
// constructs from the project's node_modules), runs jsii-diff, returns its findings.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the committed API baseline lives: the assembly of the last release (see docs/releasing.md). */
export const BASELINE = 'release/api-baseline.json';

/**
 * The assembly as committed in the baseline: the .jsii less its README (jsii-diff
 * compares the API, not the prose) and its fingerprint (a hash that changes with
 * the version and the README, so that the baseline a release commit stores equals
 * the API built from that commit).
 */
export function baselineOf(assembly) {
  const { readme: _readme, fingerprint: _fingerprint, ...rest } = assembly;
  return rest;
}

export const readAssembly = (file) => JSON.parse(readFileSync(file, 'utf8'));

let folders = 0;
function packageFolder(assembly, label) {
  const dir = path.join(root, '.cache', 'release', 'api', `${process.pid}-${folders++}-${label}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, '.jsii'), JSON.stringify(assembly));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: assembly.name, version: assembly.version, types: 'index.d.ts', jsii: {}, peerDependencies: assembly.dependencies ?? {} }),
  );
  return dir;
}

/**
 * The breaking changes from `original` to `updated` (assemblies as objects): one
 * line per change, as jsii-diff prints it (`err - PROP x.y: has been removed
 * [key]`); empty when the API is compatible. Every stability counts
 * (`--error-on all`). Throws when jsii-diff cannot compare them.
 */
export function apiBreaks(original, updated) {
  const a = packageFolder(original, 'original');
  const b = packageFolder(updated, 'updated');
  try {
    const result = spawnSync(
      process.execPath,
      [path.join(root, 'node_modules', 'jsii-diff', 'bin', 'jsii-diff'), '--error-on', 'all', '--keys', a, b],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?? '20' },
      },
    );
    const lines = `${result.stdout}${result.stderr}`.split('\n');
    const errors = lines.filter((line) => /^err\s+-/.test(line)).map((line) => line.trim());
    if (result.status === 0) return [];
    if (result.status === 1 && errors.length > 0) return errors;
    throw new Error(`jsii-diff could not compare the assemblies (exit ${result.status}):\n${lines.filter(Boolean).slice(-10).join('\n')}`);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
}
