// The files that name the package's own version, and where. A release rewrites
// each mention (release/bump.mjs); release:check fails when one names another
// version than package.json (a hand edit that forgot one). Pure functions.
//
// A rule's pattern has one group named `version`. `required` rules must match
// (the file changed shape if not: update the rule); the README's are optional,
// since its sections move, but every mention they find must be the version.

const V = '(?<version>\\d+\\.\\d+\\.\\d+)';

export const VERSION_MENTIONS = [
  { file: 'package.json', what: 'the package version', pattern: new RegExp(`^  "version": "${V}"`, 'm'), required: true },
  {
    file: 'package-lock.json',
    what: 'the lockfile version',
    pattern: new RegExp(`^  "name": "cdk-ecr-public-image-deletion",\\n  "version": "${V}"`, 'm'),
    required: true,
  },
  {
    file: 'package-lock.json',
    what: "the lockfile's root package",
    pattern: new RegExp(`"": \\{\\n      "name": "cdk-ecr-public-image-deletion",\\n      "version": "${V}"`),
    required: true,
  },
  {
    file: 'test/languages/java/pom.xml',
    what: "the Java app's dependency on the jar",
    pattern: new RegExp(`<deletion\\.version>${V}</deletion\\.version>`),
    required: true,
  },
  {
    file: 'test/languages/go/go.mod',
    what: "the Go app's requirement of the module",
    pattern: new RegExp(`cdk-ecr-public-image-deletion-go/cdkecrpublicimagedeletion v${V}`),
    required: true,
  },
  { file: 'README.md', what: 'the npm tarball a clone packs', pattern: new RegExp(`cdk-ecr-public-image-deletion-${V}\\.tgz`, 'g') },
  { file: 'docs/install.md', what: 'the npm tarball a clone packs', pattern: new RegExp(`cdk-ecr-public-image-deletion-${V}\\.tgz`, 'g') },
  { file: 'docs/languages.md', what: "jsii-pacmak's npm tarball", pattern: new RegExp(`cdk-ecr-public-image-deletion@${V}\\.jsii\\.tgz`, 'g') },
  { file: 'docs/languages.md', what: 'the wheel', pattern: new RegExp(`cdk_ecr_public_image_deletion-${V}-py3`, 'g') },
  {
    file: 'docs/languages.md',
    what: 'the Maven dependency',
    pattern: new RegExp(`<artifactId>cdk-ecr-public-image-deletion</artifactId>\\s*<version>${V}</version>`, 'g'),
  },
];

/** Every version that `rule` finds in `text`, in order. */
export function mentionsOf(rule, text) {
  return [...text.matchAll(new RegExp(rule.pattern.source, `${rule.pattern.flags.replace('g', '')}g`))].map((m) => m.groups.version);
}

/**
 * The problems of `files` ({ path: text }) against `version`: a required rule
 * that finds nothing, or a mention of another version. Empty when all agree.
 */
export function versionDrift(files, version) {
  const problems = [];
  for (const rule of VERSION_MENTIONS) {
    const text = files[rule.file];
    if (text === undefined) {
      if (rule.required) problems.push(`${rule.file}: missing (it should name ${version}: ${rule.what})`);
      continue;
    }
    const found = mentionsOf(rule, text);
    if (found.length === 0 && rule.required) {
      problems.push(`${rule.file}: ${rule.what} not found (pattern ${rule.pattern}); if the file changed shape, update release/versioned-files.mjs`);
    }
    for (const other of found.filter((v) => v !== version)) problems.push(`${rule.file}: ${rule.what} is ${other}, package.json says ${version}`);
  }
  return problems;
}

/** `files` ({ path: text }) with every mention of the version set to `version`; only the files that changed. */
export function setVersion(files, version) {
  const changed = {};
  for (const rule of VERSION_MENTIONS) {
    const text = changed[rule.file] ?? files[rule.file];
    if (text === undefined) continue;
    const pattern = new RegExp(rule.pattern.source, `${rule.pattern.flags.replace('g', '')}gd`);
    let next = '';
    let from = 0;
    for (const match of text.matchAll(pattern)) {
      const [start, end] = match.indices.groups.version;
      next += text.slice(from, start) + version;
      from = end;
    }
    next += text.slice(from);
    if (next !== text) changed[rule.file] = next;
  }
  return changed;
}

/** The paths of the files that name the version. */
export const versionedFiles = () => [...new Set(VERSION_MENTIONS.map((rule) => rule.file))];
