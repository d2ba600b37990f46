// What Maven Central requires of a release (https://central.sonatype.org/publish/requirements/):
// a POM with coordinates, name, description, URL, a license, developers and
// SCM; the jar with its sources and javadoc jars beside it (signatures and
// checksums are added when publishing). Pure: text of the POM, names of the files.

/** The text of each element at `path` (tag names separated by /), in document order. */
function elements(xml, tagPath) {
  let scopes = [xml];
  for (const tag of tagPath.split('/')) {
    const next = [];
    for (const scope of scopes) for (const m of scope.matchAll(new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g'))) next.push(m[1]);
    scopes = next;
  }
  return scopes.map((text) => text.trim());
}

/** The project's own element (not one inside <parent>, <dependencies>...): the first at the top level. */
function topLevel(xml, tag) {
  const project = /<project[^>]*>([\s\S]*)<\/project>/.exec(xml)?.[1] ?? '';
  const stripped = project.replace(
    /<(parent|dependencies|dependencyManagement|build|profiles|properties|licenses|developers|scm|repositories|distributionManagement)>[\s\S]*?<\/\1>/g,
    '',
  );
  return elements(stripped, tag)[0];
}

/** The problems of a POM against Maven Central's requirements and the expected coordinates. */
export function pomProblems(xml, { groupId, artifactId, version }) {
  const problems = [];
  const expect = (tag, wanted) => {
    const value = topLevel(xml, tag);
    if (!value) problems.push(`<${tag}> is missing or empty`);
    else if (wanted !== undefined && value !== wanted) problems.push(`<${tag}> is ${value}, expected ${wanted}`);
  };
  expect('groupId', groupId);
  expect('artifactId', artifactId);
  expect('version', version);
  expect('name');
  expect('description');
  expect('url');
  const licenses = elements(xml, 'licenses/license');
  if (licenses.length === 0) problems.push('<licenses> has no <license>');
  for (const license of licenses) {
    if (!elements(license, 'name')[0]) problems.push('a <license> has no <name>');
    if (!elements(license, 'url')[0]) problems.push('a <license> has no <url>');
  }
  const developers = elements(xml, 'developers/developer');
  if (developers.length === 0) problems.push('<developers> has no <developer>');
  for (const developer of developers) if (!elements(developer, 'name')[0]) problems.push('a <developer> has no <name>');
  const scm = elements(xml, 'scm')[0];
  if (!scm) problems.push('<scm> is missing');
  else {
    if (!elements(scm, 'url')[0]) problems.push('<scm> has no <url>');
    if (!elements(scm, 'connection')[0]) problems.push('<scm> has no <connection>');
  }
  return problems;
}

/** The problems of the files beside the POM (`files`: names in the version folder). */
export function mavenFilesProblems(files, { artifactId, version }) {
  const base = `${artifactId}-${version}`;
  return [`${base}.pom`, `${base}.jar`, `${base}-sources.jar`, `${base}-javadoc.jar`]
    .filter((name) => !files.includes(name))
    .map((name) => `${name}: missing`);
}
