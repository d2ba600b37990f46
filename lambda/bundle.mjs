// Bundles the custom-resource handler with esbuild at build time, into the
// folder the construct ships as its Lambda asset. Synth never runs esbuild.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { handlerBuildOptions } from './bundle-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'assets', 'handler', 'index.js');
// Files of their own, which the handler requires on first use: the
// stack-state reader (the CloudFormation client), when it reads the stack's
// state; the reference cache (the DynamoDB client), when a selection reads
// manifests.
const stackStateFile = join(root, 'assets', 'handler', 'stack-state.js');
const referenceCacheFile = join(root, 'assets', 'handler', 'reference-cache.js');

const builds = await Promise.all([
  build(handlerBuildOptions(join(root, 'lambda', 'index.ts'), outfile)),
  build(handlerBuildOptions(join(root, 'lambda', 'stack-state.ts'), stackStateFile)),
  build(handlerBuildOptions(join(root, 'lambda', 'reference-cache.ts'), referenceCacheFile)),
]);

mkdirSync(join(root, 'dist'), { recursive: true });
const metafile = {
  inputs: Object.assign({}, ...builds.map((b) => b.metafile.inputs)),
  outputs: Object.assign({}, ...builds.map((b) => b.metafile.outputs)),
};
writeFileSync(join(root, 'dist', 'handler-metafile.json'), JSON.stringify(metafile));
for (const file of [outfile, stackStateFile, referenceCacheFile]) {
  console.log(`bundled the handler: ${statSync(file).size} bytes -> ${file.slice(root.length + 1)}`);
}
