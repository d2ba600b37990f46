// Bundles the custom-resource handler with esbuild at build time, into the
// folder the construct ships as its Lambda asset. Synth never runs esbuild.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { handlerBuildOptions } from './bundle-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'assets', 'handler', 'index.js');

const result = await build(handlerBuildOptions(join(root, 'lambda', 'index.ts'), outfile));

mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist', 'handler-metafile.json'), JSON.stringify(result.metafile));
console.log(`bundled the handler: ${statSync(outfile).size} bytes -> ${outfile.slice(root.length + 1)}`);
