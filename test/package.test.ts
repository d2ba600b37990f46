/**
 * What `npm publish` would upload: `npm pack --dry-run` lists the tarball's files
 * (package.json "files" plus what npm always adds). Scripts are skipped: the
 * build has already run in `npm test`, and `prepack` would rebuild under the
 * feet of the other tests.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..');

/** A bound to notice a dependency or a test fixture slipping into the package; raise it knowingly. */
// Raised knowingly from 256 KB (2026-11-27, issue 14): the stack-state bundle (issue 11) and the registry reader
// with the multi-arch docs brought the package to 265 KB packed; nothing foreign is in it (npm pack --dry-run).
// Raised knowingly again (2026-12, issues 18, 19, 22) from 288 KB packed and 1 MiB unpacked to 400 KB and 1.5 MiB:
// lifecycle policies (lib/lifecycle-rules.js, their checks, their TSDoc in .jsii and API.md), the reference cache's
// bundle (assets/handler/reference-cache.js, the DynamoDB client, 198 KB, loaded only when a selection runs) and the
// replacement guard brought the package to 376 KB packed, 1,402 KB unpacked; nothing foreign is in it (npm pack
// --dry-run). Of lib/*.js, about 190 KB are inline source maps (jsii's default, kept: synth-time stack traces).
// Raised knowingly once more (2026-12-05, at the merge of issues 18 and 19's second phases) to 440 KB and 1.625 MiB:
// measured 398 KB packed, 1,444 KiB unpacked (the one engine, image groups, the paced reader, the delete window), 2%
// under the old bound. The next saving is known: reference-cache.js and stack-state.js each carry a copy of the AWS
// SDK's core (about 150 KB each, unpacked); one lazily loaded file for both would drop one copy.
const MAX_PACKED_BYTES = 440 * 1024;
const MAX_UNPACKED_BYTES = 1664 * 1024;

interface PackResult {
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: { readonly path: string; readonly size: number }[];
}

function pack(): PackResult {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return (JSON.parse(out) as PackResult[])[0];
}

const result = pack();
const files = result.files.map((f) => f.path).sort();

test('holds the compiled library, the handler bundle, the jsii assembly and the docs', () => {
  expect(files).toEqual(
    expect.arrayContaining([
      'lib/index.js',
      'lib/index.d.ts',
      'lib/image-deletion.js',
      'lib/image-deletion.d.ts',
      'lib/provider.js',
      'lib/contract.js',
      'lib/validation.js',
      'assets/handler/index.js',
      'assets/handler/stack-state.js',
      'assets/handler/reference-cache.js',
      '.jsii',
      'README.md',
      'API.md',
      'LICENSE',
      'package.json',
    ]),
  );
});

test('holds nothing else: no TypeScript sources, tests, example, benchmarks or handler sources', () => {
  const allowed = [
    /^lib\/[\w-]+\.(js|d\.ts)$/,
    /^assets\/handler\/(index|stack-state|reference-cache)\.js$/,
    /^\.jsii$/,
    /^(README|API)\.md$/,
    /^LICENSE$/,
    /^package\.json$/,
  ];
  expect(files.filter((file) => !allowed.some((pattern) => pattern.test(file)))).toEqual([]);
});

test(`stays small: at most ${MAX_PACKED_BYTES} bytes packed and ${MAX_UNPACKED_BYTES} unpacked`, () => {
  // 2026-11: 131 KB packed, 619 KB unpacked in 16 files; the jsii assembly is 300 KB of it, the handler bundle 183 KB.
  expect(result.size).toBeLessThanOrEqual(MAX_PACKED_BYTES);
  expect(result.unpackedSize).toBeLessThanOrEqual(MAX_UNPACKED_BYTES);
});

test('carries no install-time script: installing the tarball runs nothing and npm warns about nothing', () => {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const installTime = ['preinstall', 'install', 'postinstall', 'prepare'].filter((name) => manifest.scripts?.[name] !== undefined);
  expect(installTime).toEqual([]);
});

test('the README states the Node.js range that engines declares', () => {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  expect(readme).toContain(`\`engines\` in package.json says \`${manifest.engines.node}\``);
});
