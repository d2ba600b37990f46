// The languages check (`npm run test:languages`, in .ci/run after `npm test`):
// the packages that jsii-pacmak builds for Python, Java and Go, installed and used
// the way a user of each language does, synthesize the same stack as TypeScript.
//
// 1. jsii-pacmak builds each package from .jsii (so `npm run build` first): the npm
//    tarball, the Python wheel, the Java jar (Maven), the Go module, and the .NET
//    sources (no .NET SDK here: they are generated, not built).
// 2. The same app in each language (test/languages/<language>/), which the README's
//    Languages section (TypeScript) and docs/languages.md (the others) show verbatim, installs the package next to aws-cdk-lib and
//    constructs at the project's devDependency versions (PyPI, Maven Central, the Go
//    module proxy) and synthesizes offline.
// 3. Each template must equal the TypeScript app's, resource for resource (asset
//    hashes aside), and the handler asset in each cloud assembly must be byte for
//    byte assets/handler/index.js.
//
// Closing line: `languages: N passed, M failed`; the exit code is non-zero on any
// failure. Everything downloaded or built is cached in .cache/languages/ (pip,
// Maven and Go caches, the venv, the jsii runtimes' unpacked packages) and dist/,
// both gitignored; a package is rebuilt only when its inputs changed, and one
// jsii-pacmak run builds the packages in parallel. Options:
//   --clean           remove those caches and the packages first (a cold run, as in CI)
//   --only=python,go  check these languages only (typescript always runs: it is the reference)
// A missing toolchain fails in CI (CI=true) and is a loud skip elsewhere.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const cache = path.join(root, '.cache', 'languages');
const dist = path.join(root, 'dist');
const started = Date.now();
const inCi = process.env.CI === 'true';

const args = process.argv.slice(2);
const clean = args.includes('--clean');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const wanted = (language) => !only || only.includes(language);

const STACK = 'RegistryHygiene';
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const cdkVersion = pkg.devDependencies['aws-cdk-lib'];
const constructsVersion = pkg.devDependencies.constructs;
const pacmakVersion = JSON.parse(readFileSync(path.join(root, 'node_modules', 'jsii-pacmak', 'package.json'), 'utf8')).version;

const env = {
  ...process.env,
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?? '20',
  // The jsii runtimes warn about untested Node versions on every start.
  JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION: '1',
  PIP_CACHE_DIR: path.join(cache, 'pip'),
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
  GOMODCACHE: path.join(cache, 'go', 'mod'),
  GOCACHE: path.join(cache, 'go', 'build'),
  GOPATH: path.join(cache, 'go', 'path'),
  // Module cache files writable, so that --clean (rm -rf) can remove them; no VCS stamp (git may refuse a clone owned by another user).
  GOFLAGS: '-modcacherw -buildvcs=false',
  GOTOOLCHAIN: 'local',
  // Where the jsii runtimes of Python, Java and Go unpack aws-cdk-lib and the other npm tarballs they embed.
  JSII_RUNTIME_PACKAGE_CACHE_ROOT: path.join(cache, 'jsii-package-cache'),
};

// ---------------------------------------------------------------- reporting

const results = [];
const timings = [];
let cleanSeconds = 0;

function log(message) {
  console.log(`[languages ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

function record(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `\n${detail.replace(/^/gm, '       ')}` : ''}`);
}

/** Runs fn as a timed stage, which passes the check `name` unless it throws; returns fn's value, or undefined. */
function stage(language, step, name, fn) {
  const t0 = Date.now();
  try {
    const value = fn() ?? true;
    record(name, true, typeof value === 'string' ? value : '');
    return value;
  } catch (error) {
    record(name, false, String(error.message ?? error));
    return undefined;
  } finally {
    const seconds = (Date.now() - t0) / 1000;
    timings.push({ language, step, seconds });
    log(`${language}: ${step} ${seconds.toFixed(1)}s`);
  }
}

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, {
    cwd: options.cwd ?? root,
    env: { ...env, ...options.env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.error) throw new Error(`${command} ${commandArgs.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${command} ${commandArgs.join(' ')} exited with ${result.status} (in ${options.cwd ?? root}):\n${output}`);
  }
  return result.stdout;
}

function hasCommand(command, versionArgs) {
  return spawnSync(command, versionArgs, { env, stdio: 'ignore' }).status === 0;
}

// ---------------------------------------------------------------- packages

function sha256(...files) {
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(file));
  return hash.digest('hex');
}

/** What jsii-pacmak builds for each target, and how to tell that it is there. */
const PACKAGES = {
  js: { what: 'the npm tarball', built: () => filesIn(path.join(dist, 'js'), /\.tgz$/).length === 1 },
  python: { what: 'the wheel (setuptools, build, twine from PyPI)', built: () => filesIn(path.join(dist, 'python'), /\.whl$/).length === 1 },
  java: { what: 'the jar (Maven Central)', built: () => existsSync(path.join(dist, 'java', 'io', 'github', 'cdk-ecr-public-image-deletion')) },
  go: { what: 'the Go module (go build of it included)', built: () => existsSync(path.join(dist, 'go', 'cdkecrpublicimagedeletion', 'go.mod')) },
  dotnet: {
    what: 'the .NET sources (not compiled: no .NET SDK here)',
    built: () => existsSync(path.join(dist, 'dotnet', 'CdkEcrPublicImageDeletion', 'CdkEcrPublicImageDeletion.csproj')),
    codeOnly: true,
  },
};

/**
 * Builds the packages of `targets` with jsii-pacmak, each unless its package in
 * dist/ was built from the same .jsii, rosetta tablet and jsii-pacmak version
 * (recorded in a stamp file). One jsii-pacmak run builds the targets in parallel
 * (the .NET sources in a second, code-only run). Records one check per target
 * and returns the targets whose package is there.
 */
function buildPackages(targets) {
  const stampOf = (target) =>
    `${sha256(path.join(root, '.jsii'), path.join(root, '.jsii.tabl.json'))} jsii-pacmak@${pacmakVersion}${PACKAGES[target].codeOnly ? ' --code-only' : ''}`;
  const stampFile = (target) => path.join(cache, 'stamps', target);
  const fresh = (target) => PACKAGES[target].built() && existsSync(stampFile(target)) && readFileSync(stampFile(target), 'utf8') === stampOf(target);
  const stale = targets.filter((target) => !fresh(target));
  const failures = {};
  for (const codeOnly of [false, true]) {
    const batch = stale.filter((target) => Boolean(PACKAGES[target].codeOnly) === codeOnly);
    if (batch.length === 0) continue;
    for (const target of batch) {
      rmSync(stampFile(target), { force: true });
      rmSync(path.join(dist, target), { recursive: true, force: true });
    }
    const stamps = Object.fromEntries(batch.map((target) => [target, stampOf(target)]));
    const t0 = Date.now();
    try {
      run(
        'npx',
        [
          'jsii-pacmak',
          '--no-npmignore',
          ...batch.flatMap((target) => ['--target', target]),
          ...(codeOnly ? ['--code-only'] : []),
          '--maven-local-repository',
          path.relative(root, path.join(cache, 'm2')),
        ],
        // jsii-pacmak's `npm pack` would run the prepare script, a whole build, once per target: the build is done.
        { env: { npm_config_ignore_scripts: 'true' } },
      );
    } catch (error) {
      for (const target of batch) failures[target] = error.message;
    }
    const seconds = (Date.now() - t0) / 1000;
    timings.push({ language: batch.join('+'), step: 'package', seconds });
    log(`jsii-pacmak ${batch.join(', ')}${codeOnly ? ' (code only)' : ''}: ${seconds.toFixed(1)}s`);
    for (const target of batch) {
      if (PACKAGES[target].built()) {
        mkdirSync(path.dirname(stampFile(target)), { recursive: true });
        writeFileSync(stampFile(target), stamps[target]);
      }
    }
  }
  const ready = [];
  for (const target of targets) {
    const name = `${target === 'js' ? 'typescript' : target}: jsii-pacmak ${PACKAGES[target].codeOnly ? 'generates' : 'builds'} ${PACKAGES[target].what}`;
    if (PACKAGES[target].built()) {
      record(name, true, stale.includes(target) ? 'built' : 'unchanged, not rebuilt');
      ready.push(target);
    } else {
      record(name, false, failures[target] ?? `jsii-pacmak left no package in dist/${target}`);
    }
  }
  return ready;
}

const filesIn = (dir, pattern) => (existsSync(dir) ? readdirSync(dir).filter((f) => pattern.test(f)) : []);
const one = (dir, pattern) => {
  const found = filesIn(dir, pattern);
  if (found.length !== 1) throw new Error(`expected one ${pattern} in ${dir}, found ${found.length}: ${found.join(', ')}`);
  return path.join(dir, found[0]);
};

// ---------------------------------------------------------------- the apps

const outDir = (language) => path.join(cache, 'out', language);

function freshOutDir(language) {
  const dir = outDir(language);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

const quote = (text) => `'${text.replace(/'/g, "'\\''")}'`;

/** `cdk synth` of the app, offline, as a user runs it (in a folder without cdk.json: no context but the CLI's). */
function synth(language, command, cwd) {
  run(path.join(root, 'node_modules', '.bin', 'cdk'), ['synth', '--app', command, '--no-notices', '--quiet', '--output', freshOutDir(language)], {
    cwd,
  });
}

/** TypeScript: the npm tarball unpacked as an installed package, next to the project's aws-cdk-lib and constructs. */
function typescript() {
  const app = path.join(cache, 'typescript');
  const installed = stage('typescript', 'install', 'typescript: the tarball installs', () => {
    const modules = path.join(app, 'node_modules');
    rmSync(app, { recursive: true, force: true });
    mkdirSync(path.join(modules, 'cdk-ecr-public-image-deletion'), { recursive: true });
    run('tar', ['-xzf', one(path.join(dist, 'js'), /\.tgz$/), '-C', path.join(modules, 'cdk-ecr-public-image-deletion'), '--strip-components=1']);
    for (const dependency of ['aws-cdk-lib', 'constructs', '@types']) {
      symlinkSync(path.join(root, 'node_modules', dependency), path.join(modules, dependency), 'dir');
    }
    cpSync(path.join(here, 'typescript', 'app.ts'), path.join(app, 'app.ts'));
    // The compiler options of `cdk init app --language typescript`.
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['es2022'],
          strict: true,
          noImplicitReturns: true,
          noUnusedLocals: false,
          noFallthroughCasesInSwitch: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['app.ts'],
      }),
    );
    return true;
  });
  if (!installed) return;
  stage('typescript', 'synth', 'typescript: the app compiles and synthesizes', () => {
    run(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', app], { cwd: app });
    synth('typescript', 'node app.js', app);
  });
}

/** Python: the wheel, aws-cdk-lib and constructs from PyPI, in a venv of the project. */
function python() {
  const venv = path.join(cache, 'python', 'venv');
  const py = path.join(venv, 'bin', 'python');
  const installed = stage('python', 'install', 'python: the wheel installs with aws-cdk-lib and constructs from PyPI', () => {
    if (!existsSync(py)) run('python3', ['-m', 'venv', venv]);
    // Same version number, new contents: take the wheel out first so pip installs it again.
    run(py, ['-m', 'pip', 'uninstall', '--yes', '--quiet', 'cdk-ecr-public-image-deletion']);
    run(py, [
      '-m',
      'pip',
      'install',
      '--quiet',
      one(path.join(dist, 'python'), /\.whl$/),
      `aws-cdk-lib==${cdkVersion}`,
      `constructs==${constructsVersion}`,
    ]);
    return true;
  });
  if (!installed) return;
  stage('python', 'synth', 'python: the app synthesizes', () => {
    synth('python', `${quote(py)} app.py`, path.join(here, 'python'));
  });
}

/**
 * jsii-rosetta's Python translation of the TypeScript app (what the wheel's README
 * shows a Python user) runs with the wheel too: a translation that does not run,
 * or builds another stack, fails here.
 */
function rosettaPython() {
  const py = path.join(cache, 'python', 'venv', 'bin', 'python');
  stage('python-rosetta', 'synth', "python: jsii-rosetta's translation of the TypeScript app synthesizes", () => {
    const source = readFileSync(path.join(here, 'typescript', 'app.ts'), 'utf8').trim();
    const tablet = JSON.parse(readFileSync(path.join(root, '.jsii.tabl.json'), 'utf8'));
    const snippet = Object.values(tablet.snippets).find((s) => s.translations.$?.source.trim() === source);
    if (!snippet) throw new Error("no snippet of .jsii.tabl.json is test/languages/typescript/app.ts: is it in the README's Languages section?");
    const dir = path.join(cache, 'python-rosetta');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'app.py'), snippet.translations.python.source);
    synth('python-rosetta', `${quote(py)} app.py`, dir);
  });
}

/** Java: the jar from dist/java (a Maven repository), aws-cdk-lib and constructs from Maven Central. */
function java() {
  const m2 = path.join(cache, 'm2');
  const pom = path.join(here, 'java', 'pom.xml');
  const classpathFile = path.join(cache, 'java', 'classpath.txt');
  const compiled = stage('java', 'install', 'java: the app compiles against the jar, aws-cdk-lib and constructs', () => {
    const pomText = readFileSync(pom, 'utf8');
    const property = (name) => new RegExp(`<${name}>([^<]+)</${name}>`).exec(pomText)?.[1];
    const expected = {
      'cdk.version': cdkVersion,
      'constructs.version': constructsVersion,
      'jsii.version': pacmakVersion,
      'deletion.version': pkg.version,
    };
    for (const [name, version] of Object.entries(expected)) {
      if (property(name) !== version)
        throw new Error(`test/languages/java/pom.xml: <${name}> is ${property(name)}, expected ${version} (package.json)`);
    }
    // Maven keeps a release forever once in its local repository: drop ours so the new jar is taken.
    rmSync(path.join(m2, 'io', 'github', 'cdk-ecr-public-image-deletion'), { recursive: true, force: true });
    run('mvn', [
      '--batch-mode',
      '--quiet',
      '-f',
      pom,
      `-Dmaven.repo.local=${m2}`,
      'compile',
      'dependency:build-classpath',
      `-Dmdep.outputFile=${classpathFile}`,
    ]);
    return true;
  });
  if (!compiled) return;
  stage('java', 'synth', 'java: the app synthesizes', () => {
    const classpath = [path.join(cache, 'java', 'target', 'classes'), readFileSync(classpathFile, 'utf8').trim()].join(path.delimiter);
    synth('java', `java -cp ${quote(classpath)} com.example.RegistryHygieneApp`, path.join(here, 'java'));
  });
}

/** Go: the module jsii-pacmak generated (a replace directive in go.mod), aws-cdk-go from the module proxy. */
function go() {
  const binary = path.join(cache, 'go', 'registry-hygiene');
  const compiled = stage('go', 'install', 'go: the app builds against the module and aws-cdk-go', () => {
    const goMod = readFileSync(path.join(here, 'go', 'go.mod'), 'utf8');
    const awscdk = /github\.com\/aws\/aws-cdk-go\/awscdk\/v2 (v\S+)/.exec(goMod)?.[1];
    if (awscdk !== `v${cdkVersion}`) throw new Error(`test/languages/go/go.mod requires awscdk ${awscdk}, expected v${cdkVersion} (package.json)`);
    run('go', ['build', '-o', binary, '.'], { cwd: path.join(here, 'go') });
    return true;
  });
  if (!compiled) return;
  stage('go', 'synth', 'go: the app synthesizes', () => {
    synth('go', quote(binary), path.join(here, 'go'));
  });
}

/** .NET: sources only. */
function dotnet() {
  stage('dotnet', 'sources', 'dotnet: the generated sources hold the construct', () => {
    const sources = readdirSync(path.join(dist, 'dotnet', 'CdkEcrPublicImageDeletion'), { recursive: true }).filter((f) => String(f).endsWith('.cs'));
    if (!sources.some((f) => String(f).endsWith('EcrPublicImageDeletion.cs')))
      throw new Error(`no EcrPublicImageDeletion.cs among ${sources.length} .cs files`);
    return `${sources.length} .cs files in dist/dotnet`;
  });
}

function toolchain(language, what, present, install) {
  if (present()) return true;
  if (inCi) {
    record(`${language}: toolchain present`, false, `${what} is missing. Install it (${install}); in CI the ${language} check must run.`);
  } else {
    console.log(`\n*** ${language}: SKIPPED, ${what} is missing (${install}). CI runs it. ***\n`);
    results.push({ name: `${language}: skipped`, skipped: true });
  }
  return false;
}

// ---------------------------------------------------------------- comparisons

/** The stack's template and its assets manifest, from a cloud assembly. */
function readAssembly(language) {
  const dir = outDir(language);
  const template = JSON.parse(readFileSync(path.join(dir, `${STACK}.template.json`), 'utf8'));
  const assets = JSON.parse(readFileSync(path.join(dir, `${STACK}.assets.json`), 'utf8'));
  return { dir, template, assets };
}

/**
 * The template with every file asset's hash replaced by `<asset>` (S3 keys,
 * asset metadata) and CDKMetadata's Analytics decompressed, its language runtime
 * left out.
 */
function normalize({ template, assets }) {
  let text = JSON.stringify(template);
  for (const hash of Object.keys(assets.files ?? {})) text = text.split(hash).join('<asset>');
  const normalized = JSON.parse(text);
  for (const resource of Object.values(normalized.Resources ?? {})) {
    const analytics = resource.Type === 'AWS::CDK::Metadata' ? resource.Properties?.Analytics : undefined;
    if (typeof analytics === 'string' && analytics.startsWith('v2:deflate64:')) {
      // The constructs used, with their versions, and the language's runtime (`Python/3.11.7!jsii-runtime.Runtime`), which differs by design.
      resource.Properties.Analytics = gunzipSync(Buffer.from(analytics.slice('v2:deflate64:'.length), 'base64'))
        .toString('utf8')
        .replace(/(^|,)[^,!{}]+!jsii-runtime\.Runtime/, '$1<language runtime>!jsii-runtime.Runtime');
    }
  }
  return normalized;
}

/** The first place where two JSON values differ, as a path (`.Properties.Select.KeepNewest`). */
function firstDifference(a, b, where) {
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (JSON.stringify(a[key]) !== JSON.stringify(b[key]))
        return firstDifference(a[key], b[key], Array.isArray(a) ? `${where}[${key}]` : `${where}.${key}`);
    }
  }
  return { where: where || '(the whole value)', expected: a, actual: b };
}

function describeDifferences(reference, other) {
  const differences = [];
  for (const section of new Set([...Object.keys(reference), ...Object.keys(other)])) {
    if (section === 'Resources') continue;
    if (JSON.stringify(reference[section]) !== JSON.stringify(other[section])) differences.push(`section ${section} differs`);
  }
  const ids = new Set([...Object.keys(reference.Resources ?? {}), ...Object.keys(other.Resources ?? {})]);
  for (const id of ids) {
    const a = reference.Resources?.[id];
    const b = other.Resources?.[id];
    if (!a) differences.push(`${id} (${b.Type}): only in this template`);
    else if (!b) differences.push(`${id} (${a.Type}): missing (TypeScript has it)`);
    else if (JSON.stringify(a) !== JSON.stringify(b)) {
      const { where, expected, actual } = firstDifference(a, b, '');
      differences.push(
        `${id} (${a.Type}) differs at ${where}:\n  TypeScript: ${JSON.stringify(expected)?.slice(0, 400)}\n  this:       ${JSON.stringify(actual)?.slice(0, 400)}`,
      );
    }
  }
  return differences;
}

/** The handler asset of the assembly: the directory behind the S3 key of the function that runs index.handler. */
function checkHandlerAsset(language, assembly) {
  const name = `${language}: the handler asset is assets/handler/index.js, byte for byte`;
  try {
    const functions = Object.values(assembly.template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && typeof r.Properties?.Code?.S3Key === 'string',
    );
    if (functions.length !== 1) throw new Error(`expected one Lambda function with an S3 asset, found ${functions.length}`);
    const hash = functions[0].Properties.Code.S3Key.replace(/\.zip$/, '');
    const source = assembly.assets.files?.[hash]?.source;
    if (!source || source.packaging !== 'zip') throw new Error(`asset ${hash} is not a zipped directory in ${STACK}.assets.json`);
    const assetDir = path.join(assembly.dir, source.path);
    const shipped = readdirSync(path.join(root, 'assets', 'handler')).sort();
    const found = readdirSync(assetDir).sort();
    if (JSON.stringify(found) !== JSON.stringify(shipped)) throw new Error(`asset files [${found}] differ from assets/handler [${shipped}]`);
    for (const file of shipped) {
      const expected = sha256(path.join(root, 'assets', 'handler', file));
      const actual = sha256(path.join(assetDir, file));
      if (expected !== actual) throw new Error(`${source.path}/${file}: sha256 ${actual}, expected ${expected}`);
    }
    record(name, true);
  } catch (error) {
    record(name, false, error.message);
  }
}

/**
 * Each app is shown verbatim: the TypeScript one in the README's Languages
 * section (jsii-rosetta translates it for the packages' READMEs, and
 * rosettaPython runs that translation), the others in docs/languages.md. A
 * snippet that drifts fails here.
 */
function checkReadmeSnippets(languages) {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const readmeSection = readme.split(/^## /m).find((s) => s.startsWith('Languages'));
  const docs = readFileSync(path.join(root, 'docs', 'languages.md'), 'utf8');
  const files = {
    typescript: ['ts', 'typescript/app.ts', readmeSection, "the README's Languages section"],
    python: ['python', 'python/app.py', docs, 'docs/languages.md'],
    java: ['java', 'java/src/main/java/com/example/RegistryHygieneApp.java', docs, 'docs/languages.md'],
    go: ['go', 'go/main.go', docs, 'docs/languages.md'],
  };
  for (const language of languages.filter((l) => files[l])) {
    const [fence, file, text, where] = files[language];
    const name = `${language}: ${where} shows test/languages/${file}`;
    const blocks = text ? [...text.matchAll(new RegExp('^```' + fence + '(?: [^\\n]*)?\\n([\\s\\S]*?)^```', 'gm'))].map((m) => m[1]) : [];
    const app = readFileSync(path.join(here, file), 'utf8');
    if (!text) record(name, false, `${where}: no such section`);
    else if (!blocks.includes(app)) record(name, false, `no \`\`\`${fence} block of ${where} equals the file: copy the file there`);
    else record(name, true);
  }
}

// ---------------------------------------------------------------- main

function main() {
  for (const required of ['.jsii', path.join('assets', 'handler', 'index.js')]) {
    if (!existsSync(path.join(root, required))) throw new Error(`${required} is missing: run \`npm run build\` first`);
  }
  // .jsii embeds README.md (the packages' READMEs, jsii-rosetta's samples) and the API of lib/.
  const sources = [
    'README.md',
    ...readdirSync(path.join(root, 'lib'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => path.join('lib', f)),
  ];
  const stale = sources.filter((f) => statSync(path.join(root, f)).mtimeMs > statSync(path.join(root, '.jsii')).mtimeMs);
  if (stale.length > 0) throw new Error(`.jsii is older than ${stale.join(', ')}: run \`npm run build\` first`);

  if (clean) {
    const t0 = Date.now();
    rmSync(cache, { recursive: true, force: true });
    for (const target of ['js', 'python', 'java', 'go', 'dotnet']) rmSync(path.join(dist, target), { recursive: true, force: true });
    cleanSeconds = (Date.now() - t0) / 1000;
    log(`--clean: removed .cache/languages and dist/{js,python,java,go,dotnet} in ${cleanSeconds.toFixed(1)}s`);
  }
  mkdirSync(cache, { recursive: true });

  // jsii-pacmak translates the README's and the TSDoc's examples with this tablet (as `npm run package:all` does).
  stage('all', 'rosetta', 'jsii-rosetta translates the examples', () => {
    run('npx', ['jsii-rosetta', 'extract', '--strict']);
  });

  const toolchains = {
    python: () =>
      toolchain('python', 'python3 with venv', () => hasCommand('python3', ['-c', 'import venv, ensurepip']), 'apt-get install python3-venv'),
    java: () =>
      toolchain(
        'java',
        'Maven and a JDK',
        () => hasCommand('mvn', ['--version']) && hasCommand('javac', ['-version']),
        'apt-get install maven openjdk-17-jdk-headless',
      ),
    go: () => toolchain('go', 'Go', () => hasCommand('go', ['version']), 'https://go.dev/doc/install'),
  };
  const languages = ['typescript', ...['python', 'java', 'go'].filter(wanted).filter((language) => toolchains[language]())];
  const ready = buildPackages(['js', ...languages.slice(1), ...(wanted('dotnet') ? ['dotnet'] : [])]);

  if (ready.includes('js')) typescript();
  if (ready.includes('python')) {
    python();
    if (existsSync(path.join(outDir('python'), `${STACK}.template.json`))) {
      rosettaPython();
      languages.push('python-rosetta');
    }
  }
  if (ready.includes('java')) java();
  if (ready.includes('go')) go();
  if (ready.includes('dotnet')) dotnet();

  checkReadmeSnippets(languages);

  let reference;
  try {
    reference = readAssembly('typescript');
    checkHandlerAsset('typescript', reference);
    const resources = Object.values(reference.template.Resources);
    const deletions = resources.filter((r) => r.Type === 'Custom::EcrPublicImageDeletion').length;
    const rules = resources.filter((r) => r.Type === 'AWS::Events::Rule').length;
    // The reference app must show what it claims to: four deletions (image IDs, a selection, a lifecycle policy,
    // emptyOnDelete), two schedules.
    record(
      'typescript: the reference template has 4 deletions and 2 schedule rules',
      deletions === 4 && rules === 2,
      `${deletions} deletions, ${rules} rules`,
    );
  } catch (error) {
    record('typescript: the reference assembly is readable', false, error.message);
    return;
  }
  const expected = normalize(reference);
  for (const language of languages.slice(1)) {
    if (!existsSync(path.join(outDir(language), `${STACK}.template.json`))) continue; // its failure is already recorded
    const assembly = readAssembly(language);
    const differences = describeDifferences(expected, normalize(assembly));
    record(
      `${language}: the template equals TypeScript's, resource for resource (${Object.keys(assembly.template.Resources).length} resources)`,
      differences.length === 0,
      differences.join('\n'),
    );
    checkHandlerAsset(language, assembly);
  }
}

try {
  main();
} catch (error) {
  record('the languages check runs', false, error.stack ?? String(error));
}

console.log('\nStage times (s):');
for (const { language, step, seconds } of timings) console.log(`  ${language.padEnd(10)} ${step.padEnd(8)} ${seconds.toFixed(1).padStart(7)}`);
const du = spawnSync(
  'du',
  ['-sh', ...['pip', 'python', 'm2', 'go/mod', 'go/build', 'jsii-package-cache'].map((d) => path.join(cache, d)).filter(existsSync)],
  {
    encoding: 'utf8',
  },
);
if (du.status === 0) console.log(`Cache sizes:\n${du.stdout.replace(new RegExp(`${cache}/`, 'g'), '.cache/languages/').replace(/^/gm, '  ')}`);
console.log(
  `Total: ${((Date.now() - started) / 1000 - cleanSeconds).toFixed(1)}s${cleanSeconds ? ` (and ${cleanSeconds.toFixed(1)}s of --clean)` : ''}`,
);

const passed = results.filter((r) => r.ok === true).length;
const failed = results.filter((r) => r.ok === false).length;
const skipped = results.filter((r) => r.skipped).length;
console.log(`languages: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
