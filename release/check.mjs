// npm run release:check [-- --no-self-test]: the release rehearsed, up to the
// publish itself (a stage of .ci/run, after the languages check, whose packages
// in dist/ it reuses; it builds them when they are missing or older than .jsii).
//
//   tooling      the release tooling's unit tests (node --test test/release/)
//   workflows    actionlint (pinned, from the Go module proxy) and our policy:
//                actions pinned by SHA, least-privilege permissions, no project code
//                where a secret or a write permission is
//   npm          npm publish --dry-run of the tarball; its files are only what ships
//   python       twine check --strict of the wheel and the sdist; the wheel's metadata
//   java         the POM has what Maven Central requires; sources and javadoc jars beside it
//   go           the module builds and go vet is clean
//   dotnet       the sources are generated (no .NET SDK on our machines: not compiled)
//   constructhub the metadata Construct Hub reads; each README sample translated (rosetta strict)
//   api          every file names package.json's version; the baseline is that version's;
//                a break of the API (jsii-diff) is declared as a major change
//   bump         a release rehearsed on a throwaway clone: version, changelog, tag
//   self-test    each failure mode above, on a broken copy, must fail its check
//
// Closing line: `release: N passed, M failed`; the exit code is non-zero on any failure.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import jsYaml from 'js-yaml';
import { BASELINE, apiBreaks, baselineOf, readAssembly, root } from './api-diff.mjs';
import { bumpOf, releaseDate, unreleasedEntries } from './changelog.mjs';
import { constructHubProblems, readmeSamples, rosettaProblems } from './checks/construct-hub.mjs';
import { mavenFilesProblems, pomProblems } from './checks/pom.mjs';
import { tarballProblems } from './checks/tarball.mjs';
import { wheelMetadataProblems } from './checks/wheel.mjs';
import { workflowProblems } from './checks/workflow-policy.mjs';
import { releaseVersionProblems, undeclaredBreak } from './policy.mjs';
import { committedBaseline, packageJson, readText, tagExists } from './repo.mjs';
import { versionDrift, versionedFiles } from './versioned-files.mjs';
import { actionlint, goEnv, run, twine } from './tools.mjs';

const started = Date.now();
const selfTest = !process.argv.includes('--no-self-test');
const dist = path.join(root, 'dist');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'release-check-'));
const env = { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?? '20' };

// ---------------------------------------------------------------- reporting

const results = [];
let extraPassed = 0;
let extraFailed = 0;

function record(name, problems, detail = '') {
  const ok = problems.length === 0;
  results.push({ name, ok });
  const text = ok ? detail : problems.join('\n');
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${text ? `\n${text.replace(/^/gm, '       ')}` : ''}`);
}

/** Runs a check: fn returns its problems (an empty list passes) or [problems, detail]; a throw is a failure. */
function check(name, fn) {
  const t0 = Date.now();
  try {
    const value = fn();
    const [problems, detail] = Array.isArray(value?.[0]) ? value : [value ?? [], ''];
    record(`${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`, problems, detail);
  } catch (error) {
    record(name, [String(error.message ?? error)]);
  }
}

/** A self-test: `fn` runs a check on a broken copy and returns its problems; the check must find some. */
function mustFail(name, fn) {
  check(`self-test: ${name}`, () => {
    const problems = fn();
    return problems.length > 0 ? [[], `caught: ${problems[0].split('\n').slice(0, 2).join(' ').slice(0, 200)}`] : ['the check passed a broken copy'];
  });
}

function exec(command, args, options = {}) {
  return run(command, args, { env, ...options });
}

const failed = (result) => (result.status === 0 ? [] : [`${`${result.stdout}${result.stderr}`.trim().split('\n').slice(-15).join('\n')}`]);

// ---------------------------------------------------------------- inputs

const pkg = packageJson(root);
const version = pkg.version;
const targets = pkg.jsii.targets;

function ensureBuilt() {
  const jsii = path.join(root, '.jsii');
  const sources = [
    'README.md',
    'package.json',
    ...readdirSync(path.join(root, 'lib'))
      .filter((f) => /(?<!\.d)\.ts$/.test(f))
      .map((f) => `lib/${f}`),
  ];
  if (!existsSync(jsii) || sources.some((f) => statSync(path.join(root, f)).mtimeMs > statSync(jsii).mtimeMs)) {
    console.log('.jsii is missing or stale: npm run build');
    if (exec('npm', ['run', 'build'], { stdio: 'inherit' }).status !== 0) throw new Error('npm run build failed');
  }
  if (!existsSync(path.join(root, '.jsii.tabl.json')) || statSync(path.join(root, '.jsii.tabl.json')).mtimeMs < statSync(jsii).mtimeMs) {
    if (exec('npx', ['jsii-rosetta', 'extract', '--strict']).status !== 0) throw new Error('jsii-rosetta extract --strict failed');
  }
}

/** The packages of dist/ (the languages check builds them); built here with jsii-pacmak when missing or older than .jsii. */
function ensurePackages() {
  const jsiiTime = statSync(path.join(root, '.jsii')).mtimeMs;
  const marker = {
    js: () => filesIn(path.join(dist, 'js'), /\.tgz$/)[0],
    python: () => filesIn(path.join(dist, 'python'), /\.whl$/)[0],
    java: () => mavenDir(),
    go: () => path.join('go', 'cdkecrpublicimagedeletion', 'go.mod'),
    dotnet: () => path.join('dotnet', targets.dotnet.packageId, `${targets.dotnet.packageId}.csproj`),
  };
  const where = (target) => {
    const found = marker[target]();
    if (!found) return undefined;
    const full = path.isAbsolute(found) ? found : path.join(dist, target === 'js' || target === 'python' ? target : '', found);
    return existsSync(full) ? full : undefined;
  };
  const stale = Object.keys(marker).filter((target) => {
    const file = where(target);
    return !file || statSync(file).mtimeMs < jsiiTime;
  });
  const build = (list, codeOnly) => {
    if (list.length === 0) return;
    console.log(`jsii-pacmak ${list.join(', ')}${codeOnly ? ' (code only)' : ''}: missing or older than .jsii`);
    const result = exec(
      'npx',
      [
        'jsii-pacmak',
        '--no-npmignore',
        ...list.flatMap((t) => ['--target', t]),
        ...(codeOnly ? ['--code-only'] : []),
        '--maven-local-repository',
        '.cache/languages/m2',
      ],
      { env: { ...env, npm_config_ignore_scripts: 'true' } },
    );
    if (result.status !== 0) throw new Error(`jsii-pacmak failed:\n${failed(result)[0]}`);
  };
  build(
    stale.filter((t) => t !== 'dotnet'),
    false,
  );
  build(
    stale.filter((t) => t === 'dotnet'),
    true,
  );
}

const filesIn = (dir, pattern) => (existsSync(dir) ? readdirSync(dir).filter((f) => pattern.test(f)) : []);
function one(dir, pattern) {
  const found = filesIn(dir, pattern);
  if (found.length !== 1) throw new Error(`expected one ${pattern} in ${path.relative(root, dir)}, found ${found.length}: ${found.join(', ')}`);
  return path.join(dir, found[0]);
}
function mavenDir() {
  const { groupId, artifactId } = targets.java.maven;
  return path.join(dist, 'java', ...groupId.split('.'), artifactId, version);
}

// ---------------------------------------------------------------- checks

function toolingTests() {
  const result = exec(process.execPath, ['--test', '--test-reporter=tap', path.join('test', 'release')]);
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)`, 'm').exec(result.stdout)?.[1] ?? 0);
  extraPassed += count('pass');
  extraFailed += count('fail');
  const failures = result.stdout.split('\n').filter((line) => /^\s*not ok /.test(line));
  if (result.status !== 0) return [failures.length ? failures : failed(result), ''];
  return [[], `${count('pass')} unit tests passed (counted in the total)`];
}

function lintWorkflows(dir) {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(dir, f));
  if (files.length === 0) return [`no workflow in ${dir}`];
  const result = exec(actionlint(), ['-no-color', ...files]);
  return result.status === 0 ? [] : [`actionlint:\n${result.stdout.trim() || result.stderr.trim()}`];
}

function policyOfWorkflows(dir) {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .flatMap((f) => workflowProblems(f, jsYaml.load(readFileSync(path.join(dir, f), 'utf8'))));
}

const tarEntries = (tgz) => exec('tar', ['-tzf', tgz]).stdout.split('\n').filter(Boolean);

function npmTarball() {
  const tgz = one(path.join(dist, 'js'), /\.tgz$/);
  const problems = tarballProblems(tarEntries(tgz));
  const manifest = JSON.parse(exec('tar', ['-xzOf', tgz, 'package/package.json']).stdout);
  if (manifest.version !== version) problems.push(`the tarball's package.json says ${manifest.version}, package.json ${version}`);
  const publish = exec('npm', ['publish', '--dry-run', '--ignore-scripts', '--json', tgz], { cwd: scratch });
  problems.push(...failed(publish).map((p) => `npm publish --dry-run: ${p}`));
  return [problems, `${tarEntries(tgz).filter((e) => !e.endsWith('/')).length} files, npm publish --dry-run passed`];
}

function readWheelMetadata(wheel) {
  const script =
    'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nname = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))\nsys.stdout.write(z.read(name).decode())';
  const result = exec('python3', ['-c', script, wheel]);
  if (result.status !== 0) throw new Error(`cannot read METADATA from ${wheel}: ${result.stderr}`);
  return result.stdout;
}

function twineCheck(files) {
  const result = exec(twine(), ['check', '--strict', ...files]);
  if (result.status === 0) return [];
  const lines = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() && !/^Checking /.test(line));
  return [`twine check --strict: ${lines.join('\n')}`];
}

function pythonPackages() {
  const wheel = one(path.join(dist, 'python'), /\.whl$/);
  const sdist = one(path.join(dist, 'python'), /\.tar\.gz$/);
  const problems = [
    ...twineCheck([wheel, sdist]),
    ...wheelMetadataProblems(readWheelMetadata(wheel), { name: targets.python.distName, version, license: pkg.license }),
  ];
  return [problems, `${path.basename(wheel)}, ${path.basename(sdist)}`];
}

function javaPackage() {
  const dir = mavenDir();
  const { groupId, artifactId } = targets.java.maven;
  const files = existsSync(dir) ? readdirSync(dir) : [];
  const pomFile = path.join(dir, `${artifactId}-${version}.pom`);
  const problems = [...mavenFilesProblems(files, { artifactId, version })];
  if (existsSync(pomFile)) problems.push(...pomProblems(readFileSync(pomFile, 'utf8'), { groupId, artifactId, version }));
  return [problems, `${path.relative(root, dir)}: ${files.filter((f) => /\.(jar|pom)$/.test(f)).join(', ')}`];
}

function goModule() {
  const dir = path.join(dist, 'go', 'cdkecrpublicimagedeletion');
  const problems = [];
  const goMod = readFileSync(path.join(dir, 'go.mod'), 'utf8');
  const module = /^module (\S+)/m.exec(goMod)?.[1];
  const expected = `${targets.go.moduleName}/cdkecrpublicimagedeletion`;
  if (module !== expected) problems.push(`go.mod declares module ${module}, the README's table ${expected}`);
  const versionFile = readText(dir, 'version')?.trim();
  if (versionFile !== version)
    problems.push(`the module's version file says ${versionFile}, package.json ${version} (publib-golang tags the module with it)`);
  // A copy: jsii-pacmak writes no go.sum, and `go mod tidy` writes one; dist/go stays as jsii-pacmak made it.
  const copy = path.join(scratch, 'go-module');
  cpSync(dir, copy, { recursive: true });
  for (const args of [
    ['mod', 'tidy'],
    ['build', './...'],
    ['vet', './...'],
  ]) {
    const result = run('go', args, { cwd: copy, env: goEnv });
    problems.push(...failed(result).map((p) => `go ${args.join(' ')}: ${p}`));
  }
  return [problems, `${module}: go build and go vet clean`];
}

function dotnetSources() {
  const { packageId } = targets.dotnet;
  const dir = path.join(dist, 'dotnet', packageId);
  const csproj = readFileSync(path.join(dir, `${packageId}.csproj`), 'utf8');
  const problems = [];
  const tag = (name) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(csproj)?.[1];
  if (tag('PackageId') !== packageId) problems.push(`PackageId is ${tag('PackageId')}, expected ${packageId}`);
  if (tag('PackageVersion') !== version && tag('Version') !== version)
    problems.push(`the package version is ${tag('PackageVersion') ?? tag('Version')}, expected ${version}`);
  if (!tag('PackageLicenseExpression')) problems.push('no PackageLicenseExpression');
  if (!tag('RepositoryUrl')) problems.push('no RepositoryUrl');
  const sources = readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.cs'));
  if (!sources.some((f) => String(f).endsWith('EcrPublicImageDeletion.cs'))) problems.push('no EcrPublicImageDeletion.cs');
  return [problems, `${sources.length} .cs files; not compiled: there is no .NET SDK on this machine (the release workflow's runner has one)`];
}

function constructHub() {
  const assembly = readAssembly(path.join(root, '.jsii'));
  const readme = readText(root, 'README.md');
  const tablet = JSON.parse(readText(root, '.jsii.tabl.json'));
  const samples = readmeSamples(readme);
  return [
    // The package names of every language are in docs/install.md's table (the README links it; Construct Hub shows its own install box).
    [...constructHubProblems({ pkg, assembly, packageNames: readText(root, 'docs/install.md') }), ...rosettaProblems({ tablet, samples })],
    `${samples.length} README samples, each in python, java, csharp and go`,
  ];
}

/** The API and version checks of a checkout at `dir`, with the assembly `assembly`. */
function apiProblems(dir, assembly) {
  const problems = [];
  const current = packageJson(dir).version;
  const files = Object.fromEntries(versionedFiles().map((file) => [file, readText(dir, file)]));
  problems.push(...versionDrift(files, current));
  const baseline = committedBaseline(dir);
  if (baseline.version !== current) problems.push(`${BASELINE} is the API of ${baseline.version}, package.json says ${current}`);
  const breaks = apiBreaks(baseline, assembly);
  const problem = undeclaredBreak({
    kind: bumpOf(unreleasedEntries(readText(dir, 'CHANGELOG.md'))),
    apiBreaks: breaks,
    since: `the baseline (${baseline.version})`,
  });
  if (problem) problems.push(problem);
  return problems;
}

// ---------------------------------------------------------------- the bump, rehearsed

/** A throwaway clone of HEAD with node_modules linked and the built assembly copied in (newer than its sources). */
function throwawayClone(label, assembly = readText(root, '.jsii')) {
  const dir = path.join(scratch, label);
  const clone = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', root, dir], { encoding: 'utf8' });
  if (clone.status !== 0) throw new Error(`git clone: ${clone.stderr}`);
  spawnSync('git', ['config', 'user.name', 'release check'], { cwd: dir });
  spawnSync('git', ['config', 'user.email', 'release-check@example.invalid'], { cwd: dir });
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  writeFileSync(path.join(dir, '.jsii'), assembly);
  const later = new Date(Date.now() + 60_000);
  utimesSync(path.join(dir, '.jsii'), later, later);
  return dir;
}

/** Replaces the [Unreleased] entries of the clone's CHANGELOG.md with `body`, and commits. */
function setUnreleased(dir, body) {
  const file = path.join(dir, 'CHANGELOG.md');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('## [Unreleased]');
  const next = text.indexOf('\n## [', start + 1);
  writeFileSync(file, `${text.slice(0, start)}## [Unreleased]\n\n${body.trim()}\n${text.slice(next)}`);
  spawnSync('git', ['commit', '--quiet', '-am', 'entries'], { cwd: dir });
}

function bumpIn(dir, args = []) {
  return spawnSync(process.execPath, [path.join(dir, 'release', 'bump.mjs'), '--date=2000-01-02', ...args], { cwd: dir, encoding: 'utf8', env });
}

function planIn(dir, args = []) {
  return spawnSync(process.execPath, [path.join(dir, 'release', 'plan.mjs'), ...args], { cwd: dir, encoding: 'utf8', env });
}

/**
 * A merged release pull request, as the release workflow sees it on main: the
 * files of `release:bump --no-commit` committed (no tag), then built: the
 * assembly is `assembly` with the new version (what `npm run build` makes of the
 * commit), newer than its sources. `tamper(dir, version)` may change the commit first.
 */
function mergedReleasePr(label, entries, assembly, tamper = () => {}) {
  const dir = throwawayClone(label);
  setUnreleased(dir, entries);
  const bumped = bumpIn(dir, ['--no-commit']);
  if (bumped.status !== 0) throw new Error(`release:bump --no-commit failed: ${bumped.stderr.trim()}`);
  const next = packageJson(dir).version;
  tamper(dir, next);
  spawnSync('git', ['commit', '--quiet', '-am', `Release v${next}`], { cwd: dir });
  // A build of the release commit: the new version, and a new fingerprint (jsii hashes the version and the README into it).
  writeFileSync(path.join(dir, '.jsii'), JSON.stringify({ ...assembly, version: next, fingerprint: `rebuilt for ${next}` }));
  const later = new Date(Date.now() + 120_000);
  utimesSync(path.join(dir, '.jsii'), later, later);
  return { dir, next };
}

function rehearsePlan() {
  const problems = [];
  const proposeDir = throwawayClone('plan-propose');
  const propose = planIn(proposeDir);
  const changelog = readText(root, 'CHANGELOG.md');
  const releaseCommit = releaseDate(changelog, version) !== undefined && !tagExists(root, `v${version}`);
  const expectedAction = releaseCommit ? 'publish' : unreleasedEntries(changelog).length > 0 ? 'propose' : 'none';
  if (!propose.stdout.includes(`release plan: ${expectedAction}`))
    problems.push(`on HEAD: expected ${expectedAction}, got ${propose.stdout}${propose.stderr}`);
  const { dir, next } = mergedReleasePr('plan-publish', '### Fixed\n\n- A rehearsed fix.', readAssembly(path.join(root, '.jsii')));
  const notes = path.join(dir, 'notes.md');
  const publish = planIn(dir, [`--notes-file=${notes}`]);
  if (!publish.stdout.includes('release plan: publish'))
    problems.push(`on a merged release PR: expected publish, got ${publish.stdout}${publish.stderr}`);
  else if (readText(dir, 'notes.md') !== '### Fixed\n\n- A rehearsed fix.\n')
    problems.push(`the release notes are ${JSON.stringify(readText(dir, 'notes.md'))}`);
  spawnSync('git', ['tag', `v${next}`], { cwd: dir });
  const after = planIn(dir);
  if (!after.stdout.includes('release plan: none')) problems.push(`once tagged: expected none, got ${after.stdout}${after.stderr}`);
  return [problems, `HEAD: ${expectedAction}; a merged release PR (v${next}): publish, with its notes; once tagged: none`];
}

function rehearseBump() {
  const problems = [];
  const dir = throwawayClone('bump');
  const git = (...args) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' }).stdout.trim();
  const [major, minor, patch] = version.split('.').map(Number);
  const expectPatch = `${major}.${minor}.${patch + 1}`;
  const expectMinor = `${major}.${minor + 1}.0`;
  const expectMajor = `${major + 1}.0.0`;

  // The [Unreleased] of HEAD, as a dry run: nothing written (on a release commit, [Unreleased] is empty: refused).
  const dry = bumpIn(dir, ['--dry-run']);
  const kindNow = bumpOf(unreleasedEntries(readText(root, 'CHANGELOG.md')));
  const expectedNow = { major: expectMajor, minor: expectMinor, patch: expectPatch }[kindNow];
  if (!kindNow) {
    if (dry.status === 0 || !dry.stderr.includes('nothing to release'))
      problems.push(`dry run of an empty [Unreleased] was not refused: ${dry.stdout}${dry.stderr}`);
  } else if (dry.status !== 0) problems.push(`dry run of HEAD's [Unreleased] failed: ${dry.stderr.trim()}`);
  else if (!dry.stdout.includes(`would release v${expectedNow}`))
    problems.push(`dry run: expected v${expectedNow}, got: ${dry.stdout.split('\n')[0]}`);
  if (git('status', '--porcelain')) problems.push(`the dry run wrote files: ${git('status', '--porcelain')}`);

  // A fix only: a patch release, committed and tagged.
  setUnreleased(dir, '### Fixed\n\n- A rehearsed fix.');
  const first = bumpIn(dir);
  if (first.status !== 0) problems.push(`bump of a fix failed: ${first.stderr.trim()}`);
  const changelog = readText(dir, 'CHANGELOG.md');
  const expectations = [
    [packageJson(dir).version === expectPatch, `package.json is ${packageJson(dir).version}, expected ${expectPatch}`],
    [
      changelog.includes(`## [Unreleased]\n\n## [${expectPatch}] - 2000-01-02\n\n### Fixed\n\n- A rehearsed fix.`),
      `CHANGELOG.md has no "## [${expectPatch}] - 2000-01-02" section with the fix under an empty [Unreleased]`,
    ],
    [git('tag', '--points-at', 'HEAD') === `v${expectPatch}`, `HEAD is tagged "${git('tag', '--points-at', 'HEAD')}", expected v${expectPatch}`],
    [git('cat-file', '-t', `v${expectPatch}`) === 'tag', `v${expectPatch} is not an annotated tag`],
    [git('log', '-1', '--format=%s') === `Release v${expectPatch}`, `the release commit is "${git('log', '-1', '--format=%s')}"`],
    [committedBaseline(dir).version === expectPatch, `${BASELINE} is of ${committedBaseline(dir).version}, expected ${expectPatch}`],
    [
      versionDrift(Object.fromEntries(versionedFiles().map((f) => [f, readText(dir, f)])), expectPatch).length === 0,
      'a file still names the old version',
    ],
    [git('status', '--porcelain') === '', `the bump left changes: ${git('status', '--porcelain')}`],
  ];
  problems.push(...expectations.filter(([ok]) => !ok).map(([, problem]) => problem));

  // Nothing since: refused.
  const empty = bumpIn(dir, ['--dry-run']);
  if (empty.status === 0 || !empty.stderr.includes('nothing to release'))
    problems.push(`an empty [Unreleased] was not refused: ${empty.stdout}${empty.stderr}`);

  // A feature after it: a minor release that links the two tags.
  setUnreleased(dir, '### Added\n\n- A rehearsed feature.');
  const second = bumpIn(dir);
  const expectSecond = `${major}.${minor + 1}.0`;
  if (second.status !== 0) problems.push(`bump of a feature failed: ${second.stderr.trim()}`);
  else if (
    !readText(dir, 'CHANGELOG.md').includes(
      `[${expectSecond}]: ${pkg.repository.url.replace(/\.git$/, '')}/compare/v${expectPatch}...v${expectSecond}`,
    )
  ) {
    problems.push(`the ${expectSecond} link does not compare v${expectPatch} with v${expectSecond}`);
  }
  return [
    problems,
    `dry run v${expectedNow}; Fixed -> v${expectPatch} (commit, annotated tag, section, files, baseline); empty -> refused; Added -> v${expectSecond}`,
  ];
}

// ---------------------------------------------------------------- self-test

function brokenAssembly() {
  const assembly = readAssembly(path.join(root, '.jsii'));
  const props = Object.values(assembly.types).find((t) => t.kind === 'interface' && t.datatype && t.properties?.length > 0);
  const removed = props.properties.shift();
  return { assembly, what: `${props.fqn}.${removed.name} removed` };
}

function selfTests() {
  // A workflow that actionlint rejects, and each rule of our policy broken once.
  const workflows = path.join(root, '.github', 'workflows');
  const mutate = (label, file, edit) => {
    const dir = path.join(scratch, 'workflows', label);
    cpSync(workflows, dir, { recursive: true });
    const target = path.join(dir, file);
    const before = readFileSync(target, 'utf8');
    const after = edit(before);
    if (after === before) throw new Error(`the ${label} mutation did not change ${file}: update the self-test`);
    writeFileSync(target, after);
    return dir;
  };
  mustFail('an invalid workflow (a misspelt key) fails actionlint', () =>
    lintWorkflows(mutate('invalid-key', 'release.yml', (t) => t.replace('runs-on: ubuntu-24.04', 'runs_on: ubuntu-24.04'))),
  );
  mustFail('an invalid workflow (an unknown job in needs) fails actionlint', () =>
    lintWorkflows(mutate('bad-needs', 'release.yml', (t) => t.replace('needs: [build, github-release]', 'needs: [build, gihub-release]'))),
  );
  mustFail('an invalid workflow (a broken expression) fails actionlint', () =>
    lintWorkflows(mutate('bad-expression', 'build.yml', (t) => t.replace('group: build-${{ github.ref }}', 'group: build-${{ github.ref }'))),
  );
  mustFail('an action pinned by tag fails the policy', () =>
    policyOfWorkflows(mutate('unpinned', 'build.yml', (t) => t.replace(/actions\/checkout@[0-9a-f]{40}/, 'actions/checkout@v4'))),
  );
  mustFail('a job without permissions fails the policy', () =>
    policyOfWorkflows(mutate('no-permissions', 'build.yml', (t) => t.replace(/ {4}permissions:\n {6}contents: read\n/, ''))),
  );
  mustFail('project code in a job holding a secret fails the policy', () =>
    policyOfWorkflows(
      mutate('secret-and-code', 'release.yml', (t) =>
        t.replace(
          '        run: npx --yes -p "$PUBLIB" publib-maven dist/java',
          '        run: npm ci && npx --yes -p "$PUBLIB" publib-maven dist/java',
        ),
      ),
    ),
  );

  // The tarball with a stray file.
  mustFail('a stray file in the npm tarball fails the tarball check', () => {
    const dir = path.join(scratch, 'tarball');
    mkdirSync(dir, { recursive: true });
    exec('tar', ['-xzf', one(path.join(dist, 'js'), /\.tgz$/), '-C', dir]);
    mkdirSync(path.join(dir, 'package', 'test'), { recursive: true });
    writeFileSync(path.join(dir, 'package', 'test', 'fixture.test.ts'), '// a test that slipped in\n');
    const tgz = path.join(scratch, 'stray.tgz');
    exec('tar', ['-czf', tgz, '-C', dir, 'package']);
    return tarballProblems(tarEntries(tgz));
  });

  // The wheel with broken metadata: no Version.
  const brokenWheel = (label, edit) => {
    const wheel = one(path.join(dist, 'python'), /\.whl$/);
    const copy = path.join(scratch, label, path.basename(wheel));
    mkdirSync(path.dirname(copy), { recursive: true });
    const script = [
      'import re, sys, zipfile',
      'src, dst, pattern, repl = sys.argv[1:5]',
      'with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:',
      '    for item in zin.infolist():',
      '        data = zin.read(item.filename)',
      '        if item.filename.endswith(".dist-info/METADATA"):',
      '            data = re.sub(pattern, repl, data.decode(), count=1, flags=re.M).encode()',
      '        zout.writestr(item, data)',
    ].join('\n');
    const [pattern, replacement] = edit;
    const result = exec('python3', ['-c', script, wheel, copy, pattern, replacement]);
    if (result.status !== 0) throw new Error(`could not rewrite the wheel: ${result.stderr}`);
    return copy;
  };
  mustFail('a wheel whose METADATA lacks Version fails twine check', () => twineCheck([brokenWheel('no-version', ['^Version: .*\\n', ''])]));
  mustFail('a wheel whose README cannot render fails twine check', () =>
    twineCheck([brokenWheel('bad-readme', ['^Description-Content-Type: .*$', 'Description-Content-Type: text/x-rst'])]),
  );
  mustFail('a wheel without a license fails the metadata check', () =>
    wheelMetadataProblems(
      readWheelMetadata(brokenWheel('no-license', ['^(License|License-Expression|Classifier: License ::).*\\n', ''])).replace(
        /^(License|License-Expression|Classifier: License ::).*\n/gm,
        '',
      ),
      {
        name: targets.python.distName,
        version,
        license: pkg.license,
      },
    ),
  );

  // The POM without each field Maven Central requires, and without the javadoc jar.
  const { groupId, artifactId } = targets.java.maven;
  const pom = readFileSync(path.join(mavenDir(), `${artifactId}-${version}.pom`), 'utf8');
  for (const [what, strip] of [
    ['developers', /<developers>[\s\S]*?<\/developers>/],
    ['scm', /<scm>[\s\S]*?<\/scm>/],
    ['licenses', /<licenses>[\s\S]*?<\/licenses>/],
    ['url', /^ {2}<url>[^<]*<\/url>\n/m],
    ['description', /^ {2}<description>[\s\S]*?<\/description>\n/m],
    ['name', /^ {2}<name>[^<]*<\/name>\n/m],
  ]) {
    mustFail(`a POM without <${what}> fails the POM check`, () => {
      const broken = pom.replace(strip, '');
      if (broken === pom) throw new Error(`the POM has no ${strip} to remove: update the self-test`);
      return pomProblems(broken, { groupId, artifactId, version });
    });
  }
  mustFail('a Maven release without its javadoc jar fails the files check', () =>
    mavenFilesProblems(
      readdirSync(mavenDir()).filter((f) => !f.endsWith('-javadoc.jar')),
      { artifactId, version },
    ),
  );

  // The API broken without a major version.
  const { assembly, what } = brokenAssembly();
  mustFail(`an API break (${what}) with no breaking entry fails the API check`, () => apiProblems(root, assembly));
  mustFail('an API break fails a release whose version is a minor step', () =>
    releaseVersionProblems({
      previousVersion: version,
      version: `${version.split('.')[0]}.${Number(version.split('.')[1]) + 1}.0`,
      apiBreaks: apiBreaks(committedBaseline(root), assembly),
    }),
  );
  check('self-test: release:bump refuses an API break without a breaking entry, and makes a major version with one', () => {
    const dir = throwawayClone('api-break', JSON.stringify(assembly));
    setUnreleased(dir, '### Added\n\n- A feature that also removed a property.');
    const refused = bumpIn(dir, ['--dry-run']);
    const problems = [];
    if (refused.status === 0 || !refused.stderr.includes('refusing to release')) problems.push(`not refused: ${refused.stdout}${refused.stderr}`);
    setUnreleased(dir, '### Changed\n\n- **Breaking:** a property removed; set it another way.');
    const major = bumpIn(dir, ['--dry-run']);
    const expected = `v${Number(version.split('.')[0]) + 1}.0.0`;
    if (major.status !== 0 || !major.stdout.includes(`would release ${expected}`))
      problems.push(`with a breaking entry, expected ${expected}: ${major.stdout}${major.stderr}`);
    return [problems, `refused, then ${expected} once declared`];
  });
  mustFail('a merged release PR whose API broke in a minor version is refused by the release workflow (plan)', () => {
    // Made by hand, not by release:bump: an Added entry, the API broken, the baseline set to the broken API.
    const { dir } = mergedReleasePr('plan-break', '### Added\n\n- A feature that also removed a property.', assembly, (clone, next) =>
      writeFileSync(path.join(clone, BASELINE), `${JSON.stringify(baselineOf({ ...assembly, version: next }), null, 1)}\n`),
    );
    const result = planIn(dir);
    return result.status !== 0 && result.stderr.includes('refusing to publish') ? [result.stderr.trim()] : [];
  });
}

// ---------------------------------------------------------------- main

function main() {
  ensureBuilt();
  ensurePackages();
  check('tooling: the release tooling unit tests pass (node --test test/release/)', toolingTests);
  check('workflows: actionlint passes', () => lintWorkflows(path.join(root, '.github', 'workflows')));
  check('workflows: actions pinned by SHA, least privilege, no project code where a secret or a write permission is', () =>
    policyOfWorkflows(path.join(root, '.github', 'workflows')),
  );
  check('npm: the tarball passes npm publish --dry-run and holds only what ships', npmTarball);
  check('python: the wheel and sdist pass twine check --strict; the metadata is complete', pythonPackages);
  check('java: the POM has what Maven Central requires; the sources and javadoc jars are beside the jar', javaPackage);
  check('go: the module builds and go vet is clean', goModule);
  check('dotnet: the sources are generated (not compiled: no .NET SDK here)', dotnetSources);
  check('construct hub: metadata, package names as in the README, every README sample translated', constructHub);
  check('api: versions agree, the baseline is this version, an API break is declared major (jsii-diff)', () =>
    apiProblems(root, readAssembly(path.join(root, '.jsii'))),
  );
  check('bump: a release rehearsed on a throwaway clone gives the expected version, changelog section and tag', rehearseBump);
  check("plan: the release workflow's decision on a throwaway clone (propose, publish a merged release PR, then nothing)", rehearsePlan);
  if (selfTest) selfTests();
}

try {
  main();
} catch (error) {
  record('the release check runs', [error.stack ?? String(error)]);
} finally {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(path.join(root, '.cache', 'release', 'api'), { recursive: true, force: true });
}

const passed = results.filter((r) => r.ok).length + extraPassed;
const failedCount = results.filter((r) => !r.ok).length + extraFailed;
console.log(`\nTotal: ${((Date.now() - started) / 1000).toFixed(1)}s`);
console.log(`release: ${passed} passed, ${failedCount} failed`);
process.exitCode = failedCount > 0 ? 1 : 0;
