// The figures the benchmarks follow, taken from the built code rather than
// read out of the source: the function's timeout and memory from the template
// the construct (lib/) synthesizes, and the handler's concurrency limits from
// lambda/, bundled with the handler's own esbuild options (lambda/ is built
// only as the handler bundle, which exports nothing).
'use strict';
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { build } = require('esbuild');
const { App, Stack } = require('aws-cdk-lib');
const { Template } = require('aws-cdk-lib/assertions');
const { EcrPublicImageDeletion } = require('../lib');

const ROOT = path.join(__dirname, '..');

/** Timeout (ms) and memory (MiB) of the deletion's Lambda function, as the construct synthesizes it. */
function functionLimits() {
  const stack = new Stack(new App(), 'Limits');
  new EcrPublicImageDeletion(stack, 'Deletion', { repositoryName: 'bench', imageIds: [{ imageTag: 'v1' }] });
  const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  return { timeoutMs: fn.Properties.Timeout * 1000, memoryMiB: fn.Properties.MemorySize };
}

/** DEFAULT_CONCURRENCY (lambda/execute.ts) and DEFAULT_READ_CONCURRENCY (lambda/registry.ts). */
async function handlerConcurrency() {
  const { handlerBuildOptions } = await import(pathToFileURL(path.join(ROOT, 'lambda', 'bundle-options.mjs')).href);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-constants-'));
  try {
    const entry = path.join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `export { DEFAULT_CONCURRENCY } from ${JSON.stringify(path.join(ROOT, 'lambda', 'execute'))};\n` +
        `export { DEFAULT_READ_CONCURRENCY } from ${JSON.stringify(path.join(ROOT, 'lambda', 'registry'))};\n`,
    );
    const outfile = path.join(dir, 'constants.js');
    await build({ ...handlerBuildOptions(entry, outfile), metafile: false });
    const { DEFAULT_CONCURRENCY, DEFAULT_READ_CONCURRENCY } = require(outfile);
    return { concurrency: DEFAULT_CONCURRENCY, readConcurrency: DEFAULT_READ_CONCURRENCY };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { functionLimits, handlerConcurrency };
