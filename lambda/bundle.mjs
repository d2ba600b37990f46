// Bundles the custom-resource handler with esbuild at build time, into the
// folder the construct ships as its Lambda asset. Synth never runs esbuild.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { handlerBuildOptions } from './bundle-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'assets', 'handler', 'index.js');
// The stack-state reader (the CloudFormation client) in a file of its own,
// which the handler requires only when it reads the stack's state.
const stackStateFile = join(root, 'assets', 'handler', 'stack-state.js');

const handler = await build(handlerBuildOptions(join(root, 'lambda', 'index.ts'), outfile));
const stackState = await build(handlerBuildOptions(join(root, 'lambda', 'stack-state.ts'), stackStateFile));

mkdirSync(join(root, 'dist'), { recursive: true });
const metafile = {
  inputs: { ...handler.metafile.inputs, ...stackState.metafile.inputs },
  outputs: { ...handler.metafile.outputs, ...stackState.metafile.outputs },
};
writeFileSync(join(root, 'dist', 'handler-metafile.json'), JSON.stringify(metafile));
for (const file of [outfile, stackStateFile]) {
  console.log(`bundled the handler: ${statSync(file).size} bytes -> ${file.slice(root.length + 1)}`);
}
