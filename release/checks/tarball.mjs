// What the npm tarball may carry: the compiled library, the handler bundle, the
// jsii assembly, the docs, the license. A stray file (a test, a source map, a
// fixture, a secret) fails the release check. Pure.

/** Paths inside the tarball (after its `package/` folder) that may ship. */
export const ALLOWED = [
  /^lib\/[\w-]+\.(js|d\.ts)$/,
  /^assets\/handler\/[\w-]+\.js$/,
  /^\.jsii$/,
  /^(README|API)\.md$/,
  /^LICENSE$/,
  /^package\.json$/,
];

/** Paths that must ship: without them the package does not work or Construct Hub cannot read it. */
export const REQUIRED = ['package.json', 'README.md', 'LICENSE', '.jsii', 'lib/index.js', 'lib/index.d.ts', 'assets/handler/index.js'];

/** The problems of a tarball whose entries are `entries` (as `tar -tzf` lists them). */
export function tarballProblems(entries) {
  const problems = [];
  const files = entries.filter((entry) => !entry.endsWith('/'));
  for (const entry of files) {
    if (!entry.startsWith('package/')) {
      problems.push(`${entry}: outside the package/ folder`);
      continue;
    }
    const file = entry.slice('package/'.length);
    if (!ALLOWED.some((pattern) => pattern.test(file))) problems.push(`${file}: a stray file (allowed: ${ALLOWED.map(String).join(' ')})`);
  }
  const present = new Set(files.map((entry) => entry.replace(/^package\//, '')));
  for (const file of REQUIRED) if (!present.has(file)) problems.push(`${file}: missing`);
  return problems;
}
