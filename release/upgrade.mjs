// node release/upgrade.mjs — the scheduled upgrade (.github/workflows/upgrade.yml):
// sets the devDependencies that track a moving target to their newest versions,
// with the files that must follow them, and prints the commit message (markdown)
// listing each change. The workflow then runs `npm install` (the lockfile),
// `go mod tidy` in test/languages/go, and the whole build.
//  - aws-cdk-lib (exact) and, following it, test/languages/java/pom.xml's
//    cdk.version, test/languages/go/go.mod's aws-cdk-go, and the
//    @aws-cdk/cloud-assembly-schema pin (the floor of aws-cdk-lib's own range: the
//    version aws-cdk-go embeds). The peer dependency floor is left alone: raising
//    it forces every user up, a decision for a person.
//  - the AWS SDK v3 clients and their credential provider (exact, bundled into the handler);
//  - the jsii toolchain (jsii, jsii-pacmak, jsii-rosetta, jsii-diff, jsii-docgen) and
//    the jsii runtime the Java and Go apps use (pom.xml jsii.version, go.mod jsii-runtime-go).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { root } from './api-diff.mjs';

const TRACKED = [
  'aws-cdk-lib',
  '@aws-sdk/client-ecr-public',
  '@aws-sdk/client-cloudformation',
  '@aws-sdk/credential-provider-env',
  'jsii',
  'jsii-pacmak',
  'jsii-rosetta',
  'jsii-diff',
  'jsii-docgen',
];

const npmView = (spec, field) => JSON.parse(execFileSync('npm', ['view', spec, field, '--json'], { encoding: 'utf8' }));

/** The devDependency range with its version replaced, keeping its operator (~, ^ or exact). */
export const withVersion = (range, version) => `${/^[~^]/.exec(range)?.[0] ?? ''}${version}`;

function main() {
  const file = path.join(root, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  const changes = [];
  for (const name of TRACKED) {
    const current = pkg.devDependencies[name];
    const latest = npmView(name, 'version');
    const next = withVersion(current, latest);
    if (next !== current) {
      pkg.devDependencies[name] = next;
      changes.push(`- ${name}: ${current} -> ${next}`);
    }
  }
  const cdk = pkg.devDependencies['aws-cdk-lib'];
  const schemaRange = npmView(`aws-cdk-lib@${cdk}`, 'dependencies')['@aws-cdk/cloud-assembly-schema'];
  const schema = /(\d+\.\d+\.\d+)/.exec(schemaRange ?? '')?.[1];
  if (schema && pkg.devDependencies['@aws-cdk/cloud-assembly-schema'] !== schema) {
    changes.push(
      `- @aws-cdk/cloud-assembly-schema: ${pkg.devDependencies['@aws-cdk/cloud-assembly-schema']} -> ${schema} (aws-cdk-lib ${cdk} asks for ${schemaRange})`,
    );
    pkg.devDependencies['@aws-cdk/cloud-assembly-schema'] = schema;
  }
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);

  const pacmak = pkg.devDependencies['jsii-pacmak'].replace(/^[~^]/, '');
  const follow = (relative, pattern, value, what) => {
    const target = path.join(root, relative);
    const text = readFileSync(target, 'utf8');
    const next = text.replace(pattern, (_m, before) => `${before}${value}`);
    if (next !== text) {
      writeFileSync(target, next);
      changes.push(`- ${relative}: ${what} -> ${value}`);
    }
  };
  follow('test/languages/java/pom.xml', /(<cdk\.version>)[^<]+/, cdk, 'cdk.version');
  follow('test/languages/java/pom.xml', /(<jsii\.version>)[^<]+/, pacmak, 'jsii.version');
  follow('test/languages/go/go.mod', /(github\.com\/aws\/aws-cdk-go\/awscdk\/v2 v)\S+/, cdk, 'aws-cdk-go');
  follow('test/languages/go/go.mod', /(github\.com\/aws\/jsii-runtime-go v)\S+/, pacmak, 'jsii-runtime-go');

  console.log(changes.length > 0 ? `Upgrade dependencies\n\n${changes.join('\n')}` : 'Upgrade dependencies: none is behind');
}

main();
