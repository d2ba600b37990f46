// The consumer check (`npm run consumer`, part of `npm test`): what a user does
// with the published package, offline but for the npm registry.
//
// 1. `npm pack` this library (already built by `npm test`).
// 2. A new CDK app in a temporary folder, with the tsconfig.json of the CDK CLI's
//    `cdk init app --language typescript` template, installs aws-cdk-lib,
//    constructs, typescript and the tarball (npm's cache makes it fast: `npm ci`
//    of this project has put the same versions there).
// 3. The README's quick start goes into lib/ verbatim, and bin/ creates the stack
//    with the README's own line.
// 4. `tsc` compiles it (strict) and the CDK CLI synthesizes it offline; the
//    template must hold the deletions and the function, and the handler bundle
//    must come from the installed package.
//
// Keep the folder for a look with KEEP_CONSUMER_APP=1.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const started = Date.now();

function step(message) {
  console.log(`[consumer ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

function run(command, args, cwd) {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
    });
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  }
}

function fail(message) {
  throw new Error(`consumer check: ${message}`);
}

const installedVersion = (name) => JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

/** The README's quick start: the first ```ts block under "## Quick start", and the line that creates its stack. */
function quickStart() {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start'));
  if (!section) fail('README.md has no "## Quick start" section');
  const block = /^```ts[^\n]*\n([\s\S]*?)^```/m.exec(section);
  if (!block) fail('the Quick start section has no ```ts block');
  const source = block[1];
  const className = /export class (\w+)/.exec(source)?.[1];
  if (!className) fail('the quick start exports no class');
  const creation = new RegExp('`(new ' + className + '\\(app, [^`]+\\))`').exec(section)?.[1];
  if (!creation) fail(`the Quick start section does not show how to create ${className} (\`new ${className}(app, ...)\`)`);
  return { source, className, creation };
}

const keep = process.env.KEEP_CONSUMER_APP === '1';
const work = mkdtempSync(path.join(tmpdir(), 'cdk-ecr-public-image-deletion-consumer-'));
try {
  const { source, className, creation } = quickStart();

  step('npm pack');
  const packed = JSON.parse(run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work, root], root))[0];
  const tarball = path.join(work, packed.filename);

  step(`a new CDK app with ${packed.filename}`);
  const app = path.join(work, 'app');
  mkdirSync(path.join(app, 'bin'), { recursive: true });
  mkdirSync(path.join(app, 'lib'), { recursive: true });
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'preview',
        version: '0.1.0',
        private: true,
        dependencies: {
          'aws-cdk-lib': installedVersion('aws-cdk-lib'),
          constructs: installedVersion('constructs'),
          'cdk-ecr-public-image-deletion': `file:${tarball}`,
        },
        devDependencies: { typescript: installedVersion('typescript'), '@types/node': installedVersion('@types/node') },
      },
      null,
      2,
    ),
  );
  // cdk init's tsconfig.json, but emitting JavaScript (the template runs the app with tsx instead)
  // and without the types of jest, which this app has no tests for.
  const tsconfig = JSON.parse(readFileSync(path.join(root, 'node_modules/aws-cdk/lib/init-templates/app/typescript/tsconfig.json'), 'utf8'));
  Object.assign(tsconfig.compilerOptions, { noEmit: false, outDir: 'build', types: ['node'] });
  writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  writeFileSync(path.join(app, 'lib', 'preview-stack.ts'), source);
  writeFileSync(
    path.join(app, 'bin', 'preview.ts'),
    `import { App } from 'aws-cdk-lib';\nimport { ${className} } from '../lib/preview-stack';\n\nconst app = new App();\n${creation};\n`,
  );

  step('npm install (from the npm cache where it can)');
  run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
  const installed = realpathSync(path.join(app, 'node_modules', 'cdk-ecr-public-image-deletion'));
  if (!installed.startsWith(realpathSync(app))) fail(`the library resolves outside the app: ${installed}`);

  step('tsc');
  run(process.execPath, [path.join(app, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);

  step('cdk synth');
  run(
    process.execPath,
    [path.join(root, 'node_modules/aws-cdk/bin/cdk'), 'synth', '--app', 'node build/bin/preview.js', '-o', 'cdk.out', '--quiet', '--no-notices'],
    app,
  );

  const out = path.join(app, 'cdk.out');
  const templateFile = readdirSync(out).find((f) => f.endsWith('.template.json'));
  if (!templateFile) fail('cdk synth wrote no template');
  const template = JSON.parse(readFileSync(path.join(out, templateFile), 'utf8'));
  const types = Object.values(template.Resources).map((r) => r.Type);
  const count = (type) => types.filter((t) => t === type).length;
  if (count('Custom::EcrPublicImageDeletion') !== 2) fail(`expected 2 Custom::EcrPublicImageDeletion, got ${types.join(', ')}`);
  if (count('AWS::Lambda::Function') !== 1) fail(`expected 1 AWS::Lambda::Function, got ${types.join(', ')}`);
  if (count('AWS::ECR::PublicRepository') !== 1) fail(`expected 1 AWS::ECR::PublicRepository, got ${types.join(', ')}`);

  // The function's code is the bundle shipped in the package, staged by synth.
  const shipped = readFileSync(path.join(installed, 'assets/handler/index.js'));
  const staged = readdirSync(out)
    .map((f) => path.join(out, f, 'index.js'))
    .filter((file) => path.basename(path.dirname(file)).startsWith('asset.') && existsSync(file));
  const asset = staged.find((file) => readFileSync(file).equals(shipped));
  if (!asset) fail('no staged asset holds the shipped handler bundle');
  // The stack-state reader, which the handler requires on first use, sits next to it.
  const stackState = path.join(path.dirname(asset), 'stack-state.js');
  if (!existsSync(stackState) || !readFileSync(stackState).equals(readFileSync(path.join(installed, 'assets/handler/stack-state.js')))) {
    fail('the staged asset lacks the shipped stack-state.js next to the handler');
  }

  step(`ok: ${templateFile} has ${types.length} resources; ${packed.filename} is ${packed.size} bytes, ${packed.entryCount} files`);
} finally {
  if (keep) {
    console.log(`kept in ${work}`);
  } else {
    rmSync(work, { recursive: true, force: true });
  }
}
