// The consumer check (`npm run consumer`, part of `npm test`): the README's
// Install and Quick start, followed word for word by a new user, offline but for
// the npm registry.
//
// 1. `npm pack` this library (already built by `npm test`); the tarball must have
//    the name that the README tells the user to install.
// 2. In a temporary folder, the README's commands: the folder it names, `cdk init
//    app --language typescript` (the CDK CLI of this project, the version that
//    `npx aws-cdk@2` fetches today), the `npm install` that init runs, then the
//    README's `npm install <tarball>`. npm must print no install-scripts warning
//    about this package: the published manifest carries no install-time script.
// 3. The README's edits: `lib/<app>-stack.ts` replaced by the quick start, every
//    recipe of the README appended to its constructor with its imports (the
//    names the file does not import yet), and the README's statement in
//    `bin/<app>.ts`.
// 4. `cdk synth` as the README says it (the app command of init's cdk.json:
//    tsc, then tsx), with telemetry off and no notices. It must succeed without
//    a single warning; the template must hold every deletion, one function and
//    the handler bundle of the installed package.
//
// Keep the folder for a look with KEEP_CONSUMER_APP=1.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const PACKAGE = 'cdk-ecr-public-image-deletion';
const started = Date.now();
const env = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };

/** The steps so far: printed when the check fails (with the failure), not when it passes (npm test stays quiet). */
const progress = [];
function step(message) {
  progress.push(`[consumer ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

function fail(message) {
  throw new Error(`consumer check: ${message}\n(steps so far:\n${progress.join('\n')})`);
}

/** Runs a command; returns its stdout and stderr, or throws with both. */
function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env, maxBuffer: 64 * 1024 * 1024 });
  if (result.error || result.status !== 0) {
    fail(`${command} ${args.join(' ')} failed in ${cwd} (${result.error ?? `exit ${result.status}`}):\n${result.stdout}${result.stderr}`);
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

/** The text of a README section (`## title`), without its heading. */
function section(readme, title) {
  const found = readme.split(/^## /m).find((s) => s.startsWith(`${title}\n`));
  if (!found) fail(`README.md has no "## ${title}" section`);
  return found;
}

/** The fenced blocks of a text whose info string starts with `lang`: `{ info, body }`. */
function blocks(text, lang) {
  return [...text.matchAll(/^```([^\n]*)\n([\s\S]*?)^```/gm)]
    .filter(([, info]) => info.split(' ')[0] === lang)
    .map(([, info, body]) => ({ info, body }));
}

function expectLine(body, line, where) {
  if (!body.split('\n').some((l) => l.replace(/\s+#.*$/, '').trim() === line)) fail(`${where} no longer has the line \`${line}\``);
}

/** What the README tells a new user to do, read from README.md. */
function readmeSteps() {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const install = blocks(section(readme, 'Install'), 'sh')[0]?.body ?? fail('the Install section has no ```sh block');
  expectLine(install, 'npm ci', 'the Install commands');
  expectLine(install, 'npm pack', 'the Install commands');

  const quick = section(readme, 'Quick start');
  const commands = blocks(quick, 'sh')[0]?.body ?? fail('the Quick start has no ```sh block');
  const appName = /^mkdir (\S+) && cd \1$/m.exec(commands)?.[1] ?? fail('the Quick start does not start with `mkdir <app> && cd <app>`');
  expectLine(commands, 'npx aws-cdk@2 init app --language typescript', 'the Quick start');
  const tarball = /^npm install (\.\.\/\S+\.tgz)$/m.exec(commands)?.[1] ?? fail('the Quick start does not `npm install ../<clone>/<tarball>.tgz`');

  const libFile =
    /Replace the whole of `(lib\/[\w-]+\.ts)` with:/.exec(quick)?.[1] ?? fail('the Quick start does not say which lib/ file to replace');
  if (libFile !== `lib/${appName}-stack.ts`) fail(`the Quick start replaces ${libFile}, but cdk init in ${appName}/ writes lib/${appName}-stack.ts`);
  const source = blocks(quick, 'ts')[0]?.body ?? fail('the Quick start has no ```ts block');
  const className = /export class (\w+)/.exec(source)?.[1] ?? fail('the quick start exports no class');
  const binEdit = new RegExp(
    'In `(bin/[\\w-]+\\.ts)`, replace the statement `(new ' + className + '\\(app, [^`]+)` \\(with the comments inside it\\) by `([^`]+)`',
  ).exec(quick);
  if (!binEdit) fail(`the Quick start does not say how to change the \`new ${className}(app, ...)\` statement of bin/`);
  const [, binFile, , creation] = binEdit;
  if (binFile !== `bin/${appName}.ts`) fail(`the Quick start edits ${binFile}, but cdk init in ${appName}/ writes bin/${appName}.ts`);
  expectLine(quick.slice(quick.lastIndexOf('```sh')), 'npx cdk synth', 'the Quick start');

  const recipes = blocks(readme, 'ts').filter(({ info }) => info.split(' ').includes('fixture=recipe'));
  if (recipes.length === 0) fail('README.md has no recipe (```ts fixture=recipe)');
  return { appName, tarball, libFile, source, className, binFile, creation, recipes: recipes.map(({ body }) => body) };
}

const IMPORT = /^import (?:\{([^}]*)\}|\* as (\w+)) from '([^']+)';$/;

/** The names a file imports, by local name. */
function importedNames(source) {
  const names = new Set();
  for (const line of source.split('\n')) {
    const m = IMPORT.exec(line);
    if (!m) continue;
    if (m[2]) names.add(m[2]);
    for (const name of (m[1] ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean))
      names.add(name);
  }
  return names;
}

/**
 * The quick start with the recipes appended to its constructor, as the README
 * says: each recipe's import lines at the top, leaving out names already imported.
 */
function withRecipes(source, recipes) {
  const names = importedNames(source);
  const imports = [];
  const bodies = [];
  for (const recipe of recipes) {
    const lines = recipe.split('\n');
    const firstCode = lines.findIndex((line) => line.trim() !== '' && !IMPORT.test(line));
    for (const line of lines.slice(0, firstCode)) {
      const m = IMPORT.exec(line);
      if (!m) continue;
      if (m[2]) {
        if (!names.has(m[2])) imports.push(line);
        names.add(m[2]);
        continue;
      }
      const fresh = m[1]
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n && !names.has(n));
      fresh.forEach((n) => names.add(n));
      if (fresh.length > 0) imports.push(`import { ${fresh.join(', ')} } from '${m[3]}';`);
    }
    bodies.push(
      lines
        .slice(firstCode)
        .map((line) => (line ? `    ${line}` : line))
        .join('\n'),
    );
  }
  const end = source.lastIndexOf('\n  }\n}');
  if (end < 0) fail("the quick start has no constructor that ends with `  }` before the class's `}`");
  const lastImport = source.lastIndexOf('\nimport ');
  const afterImports = source.indexOf('\n', lastImport + 1) + 1;
  return (
    source.slice(0, afterImports) +
    imports.map((i) => `${i}\n`).join('') +
    source.slice(afterImports, end) +
    '\n' +
    bodies.join('\n') +
    source.slice(end)
  );
}

const keep = process.env.KEEP_CONSUMER_APP === '1';
const work = mkdtempSync(path.join(tmpdir(), `${PACKAGE}-consumer-`));
try {
  const steps = readmeSteps();

  step('npm pack');
  const packed = JSON.parse(
    execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work, root], { cwd: root, encoding: 'utf8', env }),
  )[0];
  if (path.basename(steps.tarball) !== packed.filename)
    fail(`the Quick start installs ${path.basename(steps.tarball)}, but npm pack writes ${packed.filename}`);
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
    if (manifest.scripts?.[script])
      fail(`package.json has an install-time script "${script}": every user would be warned about it (npm install-scripts)`);
  }
  // The README's `npm install ../<clone>/<tarball>` from the app's folder: the clone sits next to the app.
  const clone = path.join(work, path.basename(path.dirname(steps.tarball)));
  mkdirSync(clone);
  execFileSync(process.platform === 'win32' ? 'move' : 'mv', [path.join(work, packed.filename), clone]);

  step(`mkdir ${steps.appName}; cdk init app --language typescript`);
  const app = path.join(work, steps.appName);
  mkdirSync(app);
  run(process.execPath, [path.join(root, 'node_modules/aws-cdk/bin/cdk'), 'init', 'app', '--language', 'typescript', '--generate-only'], app);
  for (const file of [steps.libFile, steps.binFile, 'cdk.json']) {
    if (!existsSync(path.join(app, file))) fail(`cdk init wrote no ${file} (the README names it)`);
  }

  step("npm install (cdk init's own, from the npm cache where it can)");
  run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund'], app);

  step(`npm install ${steps.tarball}`);
  const installed = run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', steps.tarball], app);
  const warned = `${installed.stdout}${installed.stderr}`.split('\n').filter((line) => /install-scripts/.test(line) && line.includes(PACKAGE));
  if (warned.length > 0) fail(`npm warns about this package's install scripts:\n${warned.join('\n')}`);
  const library = realpathSync(path.join(app, 'node_modules', PACKAGE));
  if (!library.startsWith(realpathSync(app))) fail(`the library resolves outside the app: ${library}`);

  step(`the README's ${steps.libFile} with ${steps.recipes.length} recipe blocks, and its ${steps.binFile} statement`);
  writeFileSync(path.join(app, steps.libFile), withRecipes(steps.source, steps.recipes));
  const bin = readFileSync(path.join(app, steps.binFile), 'utf8');
  const statement = new RegExp(`^new ${steps.className}\\(app, '${steps.className}', \\{[\\s\\S]*?^\\}\\);$`, 'm');
  if (!statement.test(bin))
    fail(`${steps.binFile} of cdk init has no \`new ${steps.className}(app, '${steps.className}', { … });\` statement to replace:\n${bin}`);
  writeFileSync(path.join(app, steps.binFile), bin.replace(statement, steps.creation));

  step('npx cdk synth');
  const synth = run(process.execPath, [path.join(app, 'node_modules/aws-cdk/bin/cdk'), 'synth', '--no-notices'], app);
  const warnings = synth.stderr.split('\n').filter((line) => /warn/i.test(line));
  if (warnings.length > 0) fail(`cdk synth printed warnings that the README does not tell the user about:\n${warnings.join('\n')}`);

  const out = path.join(app, 'cdk.out');
  const templateFile = readdirSync(out).find((f) => f.endsWith('.template.json')) ?? fail('cdk synth wrote no template');
  const template = JSON.parse(readFileSync(path.join(out, templateFile), 'utf8'));
  const types = Object.values(template.Resources).map((r) => r.Type);
  const count = (type) => types.filter((t) => t === type).length;
  const declared = (steps.source + steps.recipes.join('\n')).match(/new EcrPublicImageDeletion\(|EcrPublicImageDeletion\.emptyOnDelete\(/g).length;
  if (count('Custom::EcrPublicImageDeletion') !== declared) fail(`expected ${declared} Custom::EcrPublicImageDeletion, got ${types.join(', ')}`);
  if (count('AWS::Lambda::Function') !== 1) fail(`expected 1 AWS::Lambda::Function, got ${types.join(', ')}`);
  if (count('AWS::Events::Rule') !== (steps.recipes.join('\n').match(/schedule: /g) ?? []).length)
    fail(`expected a rule per schedule, got ${types.join(', ')}`);

  // The function's code is the bundle shipped in the package, staged by synth.
  const shipped = readFileSync(path.join(library, 'assets/handler/index.js'));
  const staged = readdirSync(out)
    .map((f) => path.join(out, f, 'index.js'))
    .filter((file) => path.basename(path.dirname(file)).startsWith('asset.') && existsSync(file));
  const asset = staged.find((file) => readFileSync(file).equals(shipped));
  if (!asset) fail('no staged asset holds the shipped handler bundle');
  // The stack-state reader and the reference cache, which the handler requires on first use, sit next to it.
  for (const file of ['stack-state.js', 'reference-cache.js']) {
    const copy = path.join(path.dirname(asset), file);
    if (!existsSync(copy) || !readFileSync(copy).equals(readFileSync(path.join(library, 'assets/handler', file)))) {
      fail(`the staged asset lacks the shipped ${file} next to the handler`);
    }
  }

  // The one line of a passing check: what it proved.
  console.log(
    `consumer check: ok in ${((Date.now() - started) / 1000).toFixed(1)} s: the README's quick start and its ${steps.recipes.length} recipe blocks synthesize ${declared} deletions without a warning (${templateFile}, ${types.length} resources); ${packed.filename} is ${packed.size} bytes, ${packed.entryCount} files`,
  );
} finally {
  if (keep) {
    console.log(`kept in ${work}`);
  } else {
    rmSync(work, { recursive: true, force: true });
  }
}
