// The repository as the release commands read and write it: files, package.json,
// the built assembly, git. I/O only; every decision is in the pure modules.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { BASELINE, readAssembly } from './api-diff.mjs';
import { versionOfTag } from './semver.mjs';

export function git(root, args, { allowFailure = false } = {}) {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (result.status !== 0 && !allowFailure) throw new Error(`git ${args.join(' ')} exited with ${result.status}: ${result.stderr.trim()}`);
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export const readText = (root, file) => (existsSync(path.join(root, file)) ? readFileSync(path.join(root, file), 'utf8') : undefined);
export const writeText = (root, file, text) => writeFileSync(path.join(root, file), text);

export function packageJson(root) {
  return JSON.parse(readText(root, 'package.json'));
}

/** https://github.com/owner/name, from package.json's repository. */
export function repositoryUrl(pkg) {
  const url = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  if (!url) throw new Error('package.json has no repository.url');
  return url.replace(/^git\+/, '').replace(/\.git$/, '');
}

/** The built assembly (.jsii); throws when it is missing or older than a source it embeds. */
export function builtAssembly(root) {
  const file = path.join(root, '.jsii');
  if (!existsSync(file)) throw new Error('.jsii is missing: run `npm run build` first');
  const sources = [
    'README.md',
    'package.json',
    ...readdirSync(path.join(root, 'lib'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => path.join('lib', f)),
  ];
  const stale = sources.filter((f) => statSync(path.join(root, f)).mtimeMs > statSync(file).mtimeMs);
  if (stale.length > 0) throw new Error(`.jsii is older than ${stale.join(', ')}: run \`npm run build\` first`);
  return readAssembly(file);
}

/** The committed API baseline (release/api-baseline.json): the assembly of the last release. */
export function committedBaseline(root) {
  const text = readText(root, BASELINE);
  if (text === undefined) throw new Error(`${BASELINE} is missing: it holds the last release's assembly (docs/releasing.md)`);
  return JSON.parse(text);
}

/** The newest release tag (vX.Y.Z) reachable from `ref`, or undefined before the first release. */
export function lastReleaseTag(root, ref = 'HEAD') {
  const tag = git(root, ['describe', '--tags', '--abbrev=0', '--match', 'v[0-9]*.[0-9]*.[0-9]*', ref], { allowFailure: true });
  return tag && versionOfTag(tag) ? tag : undefined;
}

export const tagExists = (root, tag) => git(root, ['rev-parse', '-q', '--verify', `refs/tags/${tag}`], { allowFailure: true }) !== undefined;

/**
 * The last release: { version, baseline, since } — from its tag's baseline file,
 * or, before the first release, from the commit that added the baseline (the
 * API as it stood when releases began).
 */
export function lastRelease(root, ref = 'HEAD') {
  const tag = lastReleaseTag(root, ref);
  if (tag) {
    const text = git(root, ['show', `${tag}:${BASELINE}`], { allowFailure: true });
    if (text === undefined) throw new Error(`tag ${tag} has no ${BASELINE}: it was not made by npm run release:bump`);
    return { version: versionOfTag(tag), baseline: JSON.parse(text), since: tag };
  }
  const first = git(root, ['log', '--format=%H', '--diff-filter=A', ref, '--', BASELINE]).split('\n').filter(Boolean).pop();
  if (!first) return undefined;
  const baseline = JSON.parse(git(root, ['show', `${first}:${BASELINE}`]));
  return { version: undefined, baseline, since: `the first baseline (${baseline.version}, commit ${first.slice(0, 12)})` };
}

/** Appends name=value lines to $GITHUB_OUTPUT when GitHub Actions set it. */
export function githubOutput(values) {
  const file = process.env.GITHUB_OUTPUT;
  if (!file) return;
  const lines = Object.entries(values).map(([name, value]) =>
    String(value).includes('\n') ? `${name}<<EOF_${name}\n${value}\nEOF_${name}` : `${name}=${value}`,
  );
  writeFileSync(file, `${lines.join('\n')}\n`, { flag: 'a' });
}
