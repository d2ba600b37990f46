// The files that name the version (release/versioned-files.mjs), against this repository's own files.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setVersion, versionDrift, versionedFiles } from '../../release/versioned-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const files = Object.fromEntries(versionedFiles().map((file) => [file, readFileSync(path.join(root, file), 'utf8')]));
const version = JSON.parse(files['package.json']).version;

test("every file names package.json's version", () => {
  assert.deepEqual(versionDrift(files, version), []);
});

test('setVersion rewrites every mention and nothing else', () => {
  const changed = setVersion(files, '7.8.9');
  assert.deepEqual(versionDrift({ ...files, ...changed }, '7.8.9'), []);
  for (const [file, text] of Object.entries(changed)) {
    const before = files[file].split('\n');
    const after = text.split('\n');
    assert.equal(after.length, before.length, file);
    for (const [i, line] of after.entries()) if (line !== before[i]) assert.equal(line, before[i].split(version).join('7.8.9'), `${file}:${i + 1}`);
  }
  assert.equal(JSON.parse(changed['package-lock.json']).packages[''].version, '7.8.9');
});

test('a file left at another version, or a required mention gone, is reported with the file and the versions', () => {
  const pom = files['test/languages/java/pom.xml'].replace(`<deletion.version>${version}<`, '<deletion.version>0.0.9<');
  assert.deepEqual(versionDrift({ ...files, 'test/languages/java/pom.xml': pom }, version), [
    `test/languages/java/pom.xml: the Java app's dependency on the jar is 0.0.9, package.json says ${version}`,
  ]);
  const goMod = files['test/languages/go/go.mod'].replace(/cdkecrpublicimagedeletion v\S+/, 'cdkecrpublicimagedeletion latest');
  assert.match(
    versionDrift({ ...files, 'test/languages/go/go.mod': goMod }, version)[0],
    /go\.mod: the Go app's requirement of the module not found/,
  );
});
