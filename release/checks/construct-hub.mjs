// What Construct Hub (constructs.dev) reads to list the package and render its
// page in every language: the jsii assembly in the npm package, a CDK keyword,
// an SPDX license it accepts, the stability, the package name of each language,
// and README samples that jsii-rosetta translated without error. Pure.

const ACCEPTED_LICENSES = ['Apache-2.0', 'MIT', 'BSD-3-Clause', 'BSD-2-Clause', 'MPL-2.0', 'ISC'];
const LANGUAGES = ['python', 'java', 'csharp', 'go'];

/** The package names an install table (docs/install.md's) gives, by jsii target. */
export function tablePackageNames(markdown) {
  const cell = (pattern) => pattern.exec(markdown)?.[1];
  return {
    js: cell(/^\| TypeScript, JavaScript \| npm `([^`]+)`/m),
    python: cell(/^\| Python \| PyPI `([^`]+)`/m),
    java: cell(/^\| Java \| Maven `([^`]+)`/m),
    dotnet: cell(/^\| \.NET \| NuGet `([^`]+)`/m),
    go: cell(/^\| Go \| `([^`]+)`/m),
  };
}

/** The problems of package.json (`pkg`), the assembly and the install table (`packageNames`, markdown) against Construct Hub's needs. */
export function constructHubProblems({ pkg, assembly, packageNames }) {
  const problems = [];
  const keywords = pkg.keywords ?? [];
  if (!keywords.includes('aws-cdk')) problems.push('package.json keywords lack "aws-cdk" (Construct Hub lists packages by it)');
  if (!keywords.includes('cdk')) problems.push('package.json keywords lack "cdk"');
  if (!ACCEPTED_LICENSES.includes(pkg.license))
    problems.push(`license "${pkg.license}" is not one Construct Hub accepts (${ACCEPTED_LICENSES.join(', ')})`);
  if (assembly.license !== pkg.license) problems.push(`the assembly's license is ${assembly.license}, package.json's ${pkg.license}`);
  if (!['stable', 'experimental', 'deprecated'].includes(pkg.stability))
    problems.push(`package.json stability is ${pkg.stability ?? 'missing'} (stable, experimental or deprecated)`);
  if (!(pkg.files ?? []).includes('.jsii')) problems.push('package.json files lacks .jsii: the npm package would carry no assembly');
  if (!pkg.description) problems.push('package.json has no description');
  if (!pkg.repository?.url) problems.push('package.json has no repository.url');
  for (const peer of ['aws-cdk-lib', 'constructs']) if (!pkg.peerDependencies?.[peer]) problems.push(`${peer} is not a peer dependency`);

  const targets = assembly.targets ?? {};
  const fromAssembly = {
    js: assembly.name,
    python: targets.python?.distName,
    java: targets.java?.maven && `${targets.java.maven.groupId}:${targets.java.maven.artifactId}`,
    dotnet: targets.dotnet?.packageId,
    go: targets.go?.moduleName && `${targets.go.moduleName}/${assembly.name.replace(/[^a-z0-9]/g, '')}`,
  };
  const fromReadme = tablePackageNames(packageNames);
  for (const [target, name] of Object.entries(fromAssembly)) {
    if (!name) problems.push(`the assembly has no ${target} package name (package.json jsii.targets)`);
    else if (fromReadme[target] !== name)
      problems.push(`docs/install.md's package table gives ${target} "${fromReadme[target] ?? '(no row)'}", the assembly "${name}"`);
  }
  return problems;
}

/**
 * The problems of the rosetta tablet: each TypeScript sample of the README
 * (`samples`, their sources) must be in it, compiled, with a translation for
 * every language Construct Hub shows.
 */
export function rosettaProblems({ tablet, samples }) {
  const problems = [];
  const snippets = Object.values(tablet.snippets ?? {});
  for (const [index, sample] of samples.entries()) {
    const snippet = snippets.find((s) => s.translations?.$?.source?.trim() === sample.trim());
    const label = `README sample ${index + 1} (${sample.split('\n')[0].slice(0, 50)})`;
    if (!snippet) problems.push(`${label}: not in .jsii.tabl.json (run npm run rosetta:extract)`);
    else {
      if (snippet.didCompile !== true) problems.push(`${label}: did not compile`);
      const missing = LANGUAGES.filter((language) => !snippet.translations[language]?.source);
      if (missing.length > 0) problems.push(`${label}: no ${missing.join(', ')} translation`);
    }
  }
  return problems;
}

/** The TypeScript samples of a README (```ts or ```typescript fences, any options). */
export const readmeSamples = (readme) => [...readme.matchAll(/^```(?:ts|typescript)(?:[ \t][^\n]*)?\n([\s\S]*?)^```/gm)].map((m) => m[1]);
