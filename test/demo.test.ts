/**
 * `npm run demo`, the README's first command, keeps working and keeps telling
 * the story: each deletion by construct path with its properties in words, what
 * each event did to each image and why, the stack outputs and a log line as a
 * user sees them, and why each image that stays is there, in the handler's
 * own words (its log line), so that labels and counts agree; and a second
 * scheduled tick that reads only what was pushed since the first.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describeWithBackends } from './support/backends';

const DEMO = path.join(__dirname, '..', 'example', 'demo.js');

/** How many lines of a text end with this label (`<- label`). */
const labelled = (text: string, label: string) =>
  text.split('\n').filter((line) => line.endsWith(`<- ${label}`) || line.includes(`<- ${label} `)).length;

/** The multi-architecture act, in both server behaviours: the dry run lists what the real run deletes, and no index breaks. */
function expectMultiArchitectureAct(output: string): void {
  const acts = step(output, 7);
  // Why it plays twice is said, not left to the reader.
  expect(acts).toContain('Played twice: ECR Public does not document whether it refuses to delete an image that an index still references');
  for (const behaviour of ['refuse', 'allow']) {
    const act = acts.slice(
      acts.indexOf(`server behaviour "${behaviour}"`),
      behaviour === 'refuse' ? acts.indexOf('server behaviour "allow"') : undefined,
    );
    // The labels are the handler's, and agree with its counts: as many "part of" as it kept with their image, as many
    // "child of" as kept as referenced, as many "references unknown" as the registry-down run kept for that reason.
    const after = act.slice(act.indexOf('after, with the reason'), act.indexOf('registry down'));
    const withTheirImage = Number(/kept with the image they are part of (\d+);/.exec(act)![1]);
    expect(after.split('\n').filter((line) => line.includes('<- part of ')).length).toBe(withTheirImage);
    expect(withTheirImage).toBe(6);
    const referenced = Number(/kept as referenced (\d+)\n/.exec(act)![1]);
    expect(after.split('\n').filter((line) => line.includes('<- child of ')).length).toBe(referenced);
    const down = act.slice(act.indexOf('registry down'));
    const unknown = Number(/kept because references unknown (\d+)\n/.exec(down)![1]);
    expect(labelled(down, 'references unknown: kept')).toBe(unknown);
    expect(labelled(down, 'not selected')).toBe(0);
    const dry = /dry run would delete: (.*)\n/.exec(act)![1].split(', ').sort();
    const real = /real run SUCCESS: deleted (.*); kept with the image/.exec(act)![1].split(', ').sort();
    expect(dry).toEqual(real);
    expect(dry).toHaveLength(10);
    expect(act).toMatch(/index v2\.0\.0, latest +<- one of the newest 2\n( +\w+ image \(untagged\) +<- part of v2\.0\.0, one of the newest 2\n){4}/);
    expect(act).toMatch(/index v1\.0\.0 +<- protected\n +\w+ image v1\.0\.0-amd64 +<- part of v1\.0\.0, protected/);
    // With the registry down, what makes one image is unknown: every image the selection covers is kept for that.
    expect(act).toContain('registry down, after pushing an untagged index: SUCCESS, deleted 0, kept because references unknown 14');
  }
  expect(acts).not.toContain('MISSING');
}

/**
 * The lifecycle-policy act: three rules of a private repository's policy; the dry run expires what the real run does,
 * each image is labelled with the rule that expired it, from the handler's log line, and the counts agree.
 */
function expectLifecyclePolicyAct(output: string): void {
  const act = step(output, 8);
  expect(act).toContain('rule 1: Keep the 3 newest releases\n     rule 2: Pull-request images go after 14 days\n');
  expect(act).toContain('Dry run (like get-lifecycle-policy-preview): SUCCESS, RuleCounts {"1":2,"2":1,"3":2}; would expire:');
  expect(act).toContain('by rule 1 (Keep the 3 newest releases): v1.1.0, v1.0.0\n');
  expect(act).toContain('by rule 2 (Pull-request images go after 14 days): pr-7\n');
  expect(act).toContain('Real run: SUCCESS, RuleCounts {"1":2,"2":1,"3":2}, 18 of 35 manifests left');
  expect(act).toContain('images expired per rule: rule 1: 2, rule 2: 1, rule 3: 2');
  const lines = act.slice(act.indexOf('Each image, with the rule')).split('\n');
  const labelOf = (name: string) => lines.find((line) => line.includes(` ${name} `) || line.includes(` ${name},`))?.split('<- ')[1];
  expect(labelOf('v1.0.0')).toBe('expired by rule 1 (Keep the 3 newest releases)');
  expect(labelOf('v1.1.0')).toBe('expired by rule 1 (Keep the 3 newest releases)');
  expect(labelOf('pr-7')).toBe('expired by rule 2 (Pull-request images go after 14 days)');
  expect(labelOf('v1.4.0')).toBe('kept by rule 1 (Keep the 3 newest releases): one of its newest');
  expect(labelOf('pr-8')).toBe('no rule expires it');
  // An index and its platform images, attestations and signature are one image: labelled alike by the handler.
  expect(act).toMatch(/index v1\.4\.0 \(with 5 platform images, attestations and signatures\)/);
  expect(lines.filter((line) => line.includes('<- expired by rule 3'))).toHaveLength(2);
  expect(act).not.toMatch(/GONE, BUT NO RULE EXPIRED IT|EXPIRED, BUT STILL THERE/);
}

/** The lines of a numbered step of the demo's output. */
function step(output: string, n: number): string {
  const text = `\n${output}`;
  const start = text.indexOf(`\n${n}. `);
  const end = text.indexOf(`\n${n + 1}. `);
  return text.slice(start, end > 0 ? end : undefined);
}

/** What the demo must say, step by step: each check is one behaviour a reader relies on. */
/**
 * untaggedImages() deletes the untagged image; against moto, which serves no
 * registry to read it from (is it the signature of a kept image?), it keeps
 * it, and the demo says so.
 */
type Backend = 'emulator' | 'moto';
const untaggedDeleted = (backend: Backend, kept: number): RegExp =>
  backend === 'moto'
    ? new RegExp(`UntaggedImages: SUCCESS.*\\n +${kept} images kept: their manifests could not be read from the registry`)
    : /UntaggedImages: SUCCESS.*\n +sha256:[0-9a-f]{12}… \(untagged\): image deleted/;

const STORY: Array<[string, (output: string, backend: Backend) => void]> = [
  [
    'names each deletion by its construct path and says what it declares, in words',
    (output) => {
      const declared = step(output, 1);
      expect(declared).toContain(
        'EcrPublicImageDeletionExample/WithdrawnReleases\n      deletes the tag v0.9.0-broken\n      from cdk-ecr-public-image-deletion-example, on Create and Update\n',
      );
      expect(declared).toContain('EcrPublicImageDeletionExample/PreviewImages\n      deletes the tag pr-42 and the tag pr-42-debug\n');
      expect(declared).toContain('only when it is deleted (with the stack)');
      expect(declared).toContain('deletes the tags that match v?.?.?, except the newest 3 of them, never touching an image tagged latest');
      expect(declared).toContain('dry run: reports what it would delete, and deletes nothing');
      expect(declared).toContain('and on a schedule: every day (rate(1 day))');
      expect(declared).toContain(
        'EcrPublicImageDeletionExample/EmptyPreviewRepository\n      deletes every image\n      from cdk-ecr-public-image-deletion-example-pr-42',
      );
      expect(declared).not.toMatch(/[A-Za-z]+[0-9A-F]{8}\b/); // no hashed logical IDs
    },
  ],
  [
    'Create: a tag removed from an image that keeps another, a selection that keeps the newest and the protected, a dry run',
    (output, backend) => {
      const create = step(output, 3);
      expect(create).toContain(
        'Create EcrPublicImageDeletionExample/WithdrawnReleases: SUCCESS\n      v0.9.0-broken: tag removed; image kept: it has another tag (v0.9.0)\n',
      );
      expect(create).toContain('Create EcrPublicImageDeletionExample/PreviewImages: SUCCESS, nothing to do: Create is not in its deleteOn');
      expect(create).toMatch(
        /OldReleases: SUCCESS; selection: 11 images listed, 4 matched, 3 kept as newest, 1 protected.*\n +v0\.6\.0: tag removed; image deleted: it was its last tag\n/,
      );
      expect(create).toContain('ReleaseCandidates: SUCCESS (dry run)');
      expect(create).toContain('v1.1.0-rc1: would be deleted (dry run: nothing deleted)');
      expect(create).toMatch(untaggedDeleted(backend, 1));
    },
  ],
  [
    'shows the stack outputs after a deployment, as cdk deploy prints them, read from the answers',
    (output) => {
      const create = step(output, 3);
      expect(create).toMatch(
        /\n {3}Outputs \(as cdk deploy prints them\):\n {3}EcrPublicImageDeletionExample\.WithdrawnDeleted = \[\{"imageDigest":"sha256:[0-9a-f]{64}","imageTag":"v0\.9\.0-broken"\}\]\n/,
      );
      expect(create).toContain('EcrPublicImageDeletionExample.WithdrawnFailures = []\n');
      expect(create).toContain('EcrPublicImageDeletionExample.PreviewDeletionRan = false\n');
      expect(create).toContain('EcrPublicImageDeletionExample.DeletionLogGroup = <the name CloudFormation makes');
      expect(step(output, 5)).toContain(
        'EcrPublicImageDeletionExample.WithdrawnFailures = [{"imageId":{"imageTag":"v0.9.0-broken"},"failureCode":"ImageNotFound"',
      );
    },
  ],
  [
    'a tick of the schedule deletes the untagged image pushed since, and its JSON log line is shown as the log group holds it',
    (output, backend) => {
      const tick = step(output, 4);
      if (backend === 'moto') {
        expect(tick).toMatch(new RegExp(`Scheduled EcrPublicImageDeletionExample/${untaggedDeleted(backend, 2).source}`));
        return;
      }
      const deleted =
        /Scheduled EcrPublicImageDeletionExample\/UntaggedImages: SUCCESS .*\n +(sha256:[0-9a-f]{12})… \(untagged\): image deleted/.exec(tick);
      expect(deleted).not.toBeNull();
      const jsonLine = tick.split('\n').find((line) => line.startsWith('   {"message":"EcrPublicImageDeletion event"'));
      const logged = JSON.parse(jsonLine!.trim()) as { requestType: string; status: string; deletedImageIds: Array<{ imageDigest: string }> };
      expect(logged).toMatchObject({ requestType: 'Scheduled', status: 'SUCCESS' });
      // What the log line names is what the demo printed (moto's answer names no untagged image: then nothing).
      for (const id of logged.deletedImageIds) expect(id.imageDigest.slice(0, 19)).toBe(deleted![1]);
    },
  ],
  [
    'a reason never lists a counter that is zero',
    (output) => {
      expect(output).not.toMatch(/\b0 (kept as newest|protected|kept as referenced|refused as still referenced)/);
    },
  ],
  [
    'Update: only the changed deletion runs; an image already gone is "nothing to do", a typo is counted in NotFoundCount',
    (output) => {
      const update = step(output, 5);
      expect(update.match(/^ {3}Update /gm)).toHaveLength(1);
      expect(update).toContain('Update EcrPublicImageDeletionExample/WithdrawnReleases: SUCCESS; NotFoundCount 2\n');
      expect(update).toContain('v0.9.1-bad: tag removed; image deleted: it was its last tag\n      v0.9.0-broken: already gone: nothing to do\n');
      expect(update).toContain('v0.9.2-bda: not found: no image ever had this tag (a typo?); counted in NotFoundCount\n');
    },
  ],
  [
    'Delete: the preview tags go, the preview repository is emptied, and each image that stays says why',
    (output, backend) => {
      const teardown = step(output, 6);
      expect(teardown).toContain(
        'Delete EcrPublicImageDeletionExample/PreviewImages: SUCCESS\n      pr-42: tag removed; image deleted: it was its last tag\n      pr-42-debug:',
      );
      // Emptying deletes both images in one call; their order is the backend's.
      const emptied = teardown.slice(teardown.indexOf('Delete EcrPublicImageDeletionExample/EmptyPreviewRepository: SUCCESS'));
      expect(emptied.slice(0, emptied.indexOf('\n   Delete '))).toMatch(/^[^\n]*\n( +(web|worker): image deleted, with every tag it had\n?){2}$/);
      expect(
        emptied
          .slice(0, emptied.indexOf('\n   Delete '))
          .match(/web|worker/g)
          ?.sort(),
      ).toEqual(['web', 'worker']);
      const stays = teardown.slice(teardown.indexOf('What stays, and why:'));
      const lines = stays
        .split('\n')
        .filter((line) => line.includes('sha256:'))
        .map((line) => line.replace(/^ +sha256:[0-9a-f]{12}… +/, ''));
      expect(lines).toEqual([
        'v0.7.0  <- kept: one of the newest 3 that OldReleases matches (v?.?.?)',
        'v0.8.0  <- kept: one of the newest 3 that OldReleases matches (v?.?.?)',
        'v0.9.0  <- kept: one of the newest 3 that OldReleases matches (v?.?.?)',
        'latest, v1.0.0  <- protected: OldReleases never touches an image tagged latest',
        'v1.1.0-rc1  <- ReleaseCandidates is a dry run: it reports this image and deletes nothing',
        'pr-41  <- not declared: no deletion names it or selects it',
        ...(backend === 'moto'
          ? Array(2).fill(
              '(untagged)  <- kept: UntaggedImages could not read a manifest it needs from the registry, so it keeps what it might wrongly delete',
            )
          : []),
      ]);
      expect(stays).toContain('cdk-ecr-public-image-deletion-example-pr-42 holds 0 images: empty, so CloudFormation can delete it');
    },
  ],
];

const runFile = promisify(execFile);

describe('npm run demo', () => {
  let output = '';
  // The demo waits far more than it computes (36 s, 4.6 s of CPU): the run with a PATH that holds only node goes at
  // the same time as the default one.
  const bin = mkdtempSync(path.join(os.tmpdir(), 'node-only-'));
  let nodeOnly: Promise<string>;
  beforeAll(async () => {
    symlinkSync(process.execPath, path.join(bin, 'node'));
    nodeOnly = runFile(path.join(bin, 'node'), [DEMO], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, PATH: bin } }).then(
      (r) => r.stdout,
    );
    nodeOnly.catch(() => undefined);
    output = (await runFile(process.execPath, [DEMO], { encoding: 'utf8', timeout: 90_000 })).stdout;
  }, 120_000);
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  test('runs against the emulator by default', () => {
    expect(output).toContain('local ECR Public (emulator)');
  });

  test.each(STORY)('%s', (_, check) => check(output, 'emulator'));

  test('ends with multi-architecture images kept whole in both server behaviours, the dry run listing what the real run deletes', () => {
    expectMultiArchitectureAct(output);
  });

  test('plays a lifecycle policy of three rules: each image labelled with the rule that expired it, from the log line', () => {
    expectLifecyclePolicyAct(output);
  });

  test("then two hourly ticks: the second reads from the registry only the indexes pushed since the first; the rest is the cache's", () => {
    const reads = step(output, 9);
    expect(reads).toContain(
      'tick 1: SUCCESS, deleted 1; manifests read from the registry 9, from the reference cache 0, stored 9 ' +
        '(authenticated registry reads, paced at 5 a second; answered 429: 0)\n      the registry counted 9 authenticated and 0 anonymous pulls',
    );
    expect(reads).toContain(
      'tick 2: SUCCESS, deleted 0; manifests read from the registry 3, from the reference cache 8, stored 3 ' +
        '(authenticated registry reads, paced at 5 a second; answered 429: 0)\n      the registry counted 3 authenticated and 0 anonymous pulls',
    );
    expect(reads).toContain('The second tick read only the 3 new indexes; the 8 it already knew came from the cache.');
  });

  test('needs nothing but Node: node example/demo.js runs with a PATH that holds only node (no python3, npm or sh)', async () => {
    const alone = await nodeOnly;
    for (const [, check] of STORY) check(alone, 'emulator');
  }, 120_000);
});

describeWithBackends(['moto'], 'the demo against moto')('npm run demo -- --backend moto', () => {
  test('tells the same story against moto', () => {
    const output = execFileSync(process.execPath, [DEMO, '--backend', 'moto'], { encoding: 'utf8', timeout: 90_000 });
    expect(output).toContain('local ECR Public (moto)');
    for (const [, check] of STORY) check(output, 'moto');
  }, 120_000);
});
