// The release checks' rules on small inputs (release/checks/): each passes a good
// input and names what is wrong in a bad one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constructHubProblems, tablePackageNames, rosettaProblems } from '../../release/checks/construct-hub.mjs';
import { mavenFilesProblems, pomProblems } from '../../release/checks/pom.mjs';
import { tarballProblems } from '../../release/checks/tarball.mjs';
import { wheelMetadataProblems } from '../../release/checks/wheel.mjs';
import { workflowProblems } from '../../release/checks/workflow-policy.mjs';

const SHA = 'a'.repeat(40);

test('tarball: only the library, the bundle, the assembly and the docs ship', () => {
  const good = [
    'package/package.json',
    'package/README.md',
    'package/API.md',
    'package/LICENSE',
    'package/.jsii',
    'package/lib/',
    'package/lib/index.js',
    'package/lib/index.d.ts',
    'package/assets/handler/index.js',
  ];
  assert.deepEqual(tarballProblems(good), []);
  assert.deepEqual(tarballProblems([...good, 'package/lib/index.ts', 'package/.env', 'package/test/a.test.js']), [
    'lib/index.ts: a stray file (allowed: /^lib\\/[\\w-]+\\.(js|d\\.ts)$/ /^assets\\/handler\\/[\\w-]+\\.js$/ /^\\.jsii$/ /^(README|API)\\.md$/ /^LICENSE$/ /^package\\.json$/)',
    '.env: a stray file (allowed: /^lib\\/[\\w-]+\\.(js|d\\.ts)$/ /^assets\\/handler\\/[\\w-]+\\.js$/ /^\\.jsii$/ /^(README|API)\\.md$/ /^LICENSE$/ /^package\\.json$/)',
    'test/a.test.js: a stray file (allowed: /^lib\\/[\\w-]+\\.(js|d\\.ts)$/ /^assets\\/handler\\/[\\w-]+\\.js$/ /^\\.jsii$/ /^(README|API)\\.md$/ /^LICENSE$/ /^package\\.json$/)',
  ]);
  assert.deepEqual(tarballProblems(good.filter((f) => !f.endsWith('.jsii'))), ['.jsii: missing']);
});

const POM = `<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.github.x</groupId>
  <artifactId>x</artifactId>
  <version>1.2.3</version>
  <name>x</name>
  <description>X.</description>
  <url>https://github.com/x/x</url>
  <licenses><license><name>Apache License 2.0</name><url>https://www.apache.org/licenses/LICENSE-2.0.txt</url></license></licenses>
  <developers><developer><name>X contributors</name></developer></developers>
  <scm><connection>scm:git:https://github.com/x/x.git</connection><url>https://github.com/x/x.git</url></scm>
  <dependencies><dependency><groupId>software.amazon.awscdk</groupId><artifactId>aws-cdk-lib</artifactId><version>[2.257.0,3.0.0)</version></dependency></dependencies>
</project>`;
const coordinates = { groupId: 'io.github.x', artifactId: 'x', version: '1.2.3' };

test('POM: name, description, URL, license, developers and SCM are required; the coordinates must match', () => {
  assert.deepEqual(pomProblems(POM, coordinates), []);
  assert.deepEqual(pomProblems(POM.replace(/<developers>.*<\/developers>/, ''), coordinates), ['<developers> has no <developer>']);
  assert.deepEqual(pomProblems(POM.replace(/<scm>.*<\/scm>/, ''), coordinates), ['<scm> is missing']);
  assert.deepEqual(pomProblems(POM.replace('<url>https://github.com/x/x</url>', ''), coordinates), ['<url> is missing or empty']);
  assert.deepEqual(pomProblems(POM.replace('<name>Apache License 2.0</name>', ''), coordinates), ['a <license> has no <name>']);
  // A dependency's version is not the project's.
  assert.deepEqual(pomProblems(POM.replace('<version>1.2.3</version>', ''), coordinates), ['<version> is missing or empty']);
  assert.deepEqual(mavenFilesProblems(['x-1.2.3.pom', 'x-1.2.3.jar', 'x-1.2.3-sources.jar'], coordinates), ['x-1.2.3-javadoc.jar: missing']);
});

const METADATA = `Metadata-Version: 2.1
Name: cdk-x
Version: 1.2.3
Summary: X.
Home-page: https://github.com/x/x
License: Apache-2.0
Project-URL: Source, https://github.com/x/x
Classifier: Development Status :: 5 - Production/Stable
Classifier: License :: OSI Approved
Requires-Python: ~=3.9
Description-Content-Type: text/markdown

# X
`;

test('wheel metadata: name, version, summary, URL, license, stability, Python and a markdown README', () => {
  const expected = { name: 'cdk_x', version: '1.2.3', license: 'Apache-2.0' };
  assert.deepEqual(wheelMetadataProblems(METADATA, expected), []);
  assert.deepEqual(wheelMetadataProblems(METADATA.replace('Version: 1.2.3\n', ''), expected), ['Version is missing, expected 1.2.3']);
  assert.deepEqual(wheelMetadataProblems(METADATA.replace('License: Apache-2.0\n', ''), expected), [
    'no license field or classifier names Apache-2.0',
  ]);
  assert.deepEqual(wheelMetadataProblems(METADATA.replace('text/markdown', 'text/x-rst'), expected), [
    'Description-Content-Type is not text/markdown (the README would not render)',
  ]);
});

const workflow = (jobs) => ({ on: { push: {} }, permissions: {}, jobs });

test('workflow policy: pinned actions, permissions per job, no project code beside a secret or a write permission', () => {
  const build = { permissions: { contents: 'read' }, steps: [{ uses: `actions/checkout@${SHA}` }, { run: 'npm ci && npm test' }] };
  const publish = { permissions: { 'id-token': 'write' }, steps: [{ run: 'npx --yes -p "$PUBLIB" publib-npm dist/js' }] };
  assert.deepEqual(workflowProblems('w.yml', workflow({ build, publish })), []);
  assert.deepEqual(workflowProblems('w.yml', workflow({ build: { ...build, steps: [{ uses: 'actions/checkout@v4' }] } })), [
    'w.yml job build step 1: actions/checkout@v4 is not pinned by a commit SHA (uses: owner/action@<40 hex> # vX.Y.Z)',
  ]);
  assert.deepEqual(
    workflowProblems('w.yml', workflow({ build: { steps: build.steps } }))[0],
    "w.yml job build: no permissions (it would get the repository's default)",
  );
  assert.match(workflowProblems('w.yml', { ...workflow({ build }), permissions: undefined })[0], /must grant nothing by default/);
  const leaky = { permissions: { contents: 'read' }, env: { TOKEN: '${{ secrets.NPM_TOKEN }}' }, steps: [{ run: 'npm run build' }] };
  assert.match(workflowProblems('w.yml', workflow({ leaky }))[0], /runs project code .* in a job that holds a secret/);
  const writer = { permissions: { contents: 'write' }, steps: [{ run: 'node release/bump.mjs' }] };
  assert.match(workflowProblems('w.yml', workflow({ writer }))[0], /in a job that may write/);
  assert.match(workflowProblems('w.yml', { ...workflow({ build }), on: { pull_request_target: {} } })[0], /pull_request_target/);
});

const README = `| Language | Package | Import |
| --- | --- | --- |
| TypeScript, JavaScript | npm \`cdk-x\` | x |
| Python | PyPI \`cdk-x\` | x |
| Java | Maven \`io.github.x:cdk-x\` | x |
| .NET | NuGet \`CdkX\` | x |
| Go | \`github.com/x/cdk-x-go/cdkx\` | x |
`;
const PKG = {
  keywords: ['aws-cdk', 'cdk'],
  license: 'Apache-2.0',
  stability: 'stable',
  files: ['.jsii'],
  description: 'X.',
  repository: { url: 'https://github.com/x/cdk-x.git' },
  peerDependencies: { 'aws-cdk-lib': '^2', constructs: '^10' },
};
const ASSEMBLY = {
  name: 'cdk-x',
  license: 'Apache-2.0',
  targets: {
    python: { distName: 'cdk-x' },
    java: { maven: { groupId: 'io.github.x', artifactId: 'cdk-x' } },
    dotnet: { packageId: 'CdkX' },
    go: { moduleName: 'github.com/x/cdk-x-go' },
  },
};

test("Construct Hub: keywords, license, stability, and each language named as docs/install.md's package table names it", () => {
  assert.deepEqual(tablePackageNames(README).java, 'io.github.x:cdk-x');
  assert.deepEqual(constructHubProblems({ pkg: PKG, assembly: ASSEMBLY, packageNames: README }), []);
  assert.deepEqual(constructHubProblems({ pkg: { ...PKG, keywords: ['cdk'], stability: undefined }, assembly: ASSEMBLY, packageNames: README }), [
    'package.json keywords lack "aws-cdk" (Construct Hub lists packages by it)',
    'package.json stability is missing (stable, experimental or deprecated)',
  ]);
  assert.deepEqual(constructHubProblems({ pkg: PKG, assembly: ASSEMBLY, packageNames: README.replace('NuGet `CdkX`', 'NuGet `Cdk.X`') }), [
    'docs/install.md\'s package table gives dotnet "Cdk.X", the assembly "CdkX"',
  ]);
});

test('rosetta: each README sample compiled and translated into every language', () => {
  const translations = {
    $: { source: 'new X();' },
    python: { source: 'X()' },
    java: { source: 'new X();' },
    csharp: { source: 'new X();' },
    go: { source: 'NewX()' },
  };
  const tablet = { snippets: { a: { translations, didCompile: true } } };
  assert.deepEqual(rosettaProblems({ tablet, samples: ['new X();\n'] }), []);
  assert.match(rosettaProblems({ tablet, samples: ['new Y();'] })[0], /not in \.jsii\.tabl\.json/);
  const { go: _go, ...noGo } = translations;
  assert.match(
    rosettaProblems({ tablet: { snippets: { a: { translations: noGo, didCompile: false } } }, samples: ['new X();'] }).join('\n'),
    /did not compile\n.*no go translation/,
  );
});
