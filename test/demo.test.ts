/**
 * `npm run demo`, the README's first command, keeps working and keeps telling
 * the story: each deletion by construct path with its properties in words, what
 * each event did to each image and why, and why each image that stays is there.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describeIfLocalBackend } from './support/local-rig';

describeIfLocalBackend('the demo')('npm run demo', () => {
  let output = '';
  beforeAll(() => {
    output = '\n' + execFileSync(process.execPath, [path.join(__dirname, '..', 'example', 'demo.js')], { encoding: 'utf8', timeout: 90_000 });
  }, 120_000);

  /** The lines of a numbered step of the demo. */
  const step = (n: number) =>
    output.slice(output.indexOf(`\n${n}. `), output.indexOf(`\n${n + 1}. `) > 0 ? output.indexOf(`\n${n + 1}. `) : undefined);

  test('names each deletion by its construct path and says what it declares, in words', () => {
    const declared = step(1);
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
  });

  test('Create: a tag removed from an image that keeps another, a selection that keeps the newest and the protected, a dry run', () => {
    const create = step(3);
    expect(create).toContain(
      'Create EcrPublicImageDeletionExample/WithdrawnReleases: SUCCESS\n      v0.9.0-broken: tag removed; image kept: it has another tag (v0.9.0)\n',
    );
    expect(create).toContain('Create EcrPublicImageDeletionExample/PreviewImages: SUCCESS, nothing to do: Create is not in its deleteOn');
    expect(create).toMatch(
      /OldReleases: SUCCESS; selection: 11 images listed, 4 matched, 3 kept as newest, 1 protected.*\n +v0\.6\.0: tag removed; image deleted: it was its last tag\n/,
    );
    expect(create).toContain('ReleaseCandidates: SUCCESS (dry run)');
    expect(create).toContain('v1.1.0-rc1: would be deleted (dry run: nothing deleted)');
    expect(create).toMatch(/UntaggedImages: SUCCESS.*\n +sha256:[0-9a-f]{12}… \(untagged\): image deleted/);
  });

  test('a tick of the schedule deletes the untagged image pushed since', () => {
    expect(step(4)).toMatch(
      /Scheduled EcrPublicImageDeletionExample\/UntaggedImages: SUCCESS .*\n +sha256:[0-9a-f]{12}… \(untagged\): image deleted/,
    );
  });

  test('Update: only the changed deletion runs; an image already gone is "nothing to do", a typo is counted in NotFoundCount', () => {
    const update = step(5);
    expect(update.match(/^ {3}Update /gm)).toHaveLength(1);
    expect(update).toContain('Update EcrPublicImageDeletionExample/WithdrawnReleases: SUCCESS; NotFoundCount 2\n');
    expect(update).toContain('v0.9.1-bad: tag removed; image deleted: it was its last tag\n      v0.9.0-broken: already gone: nothing to do\n');
    expect(update).toContain('v0.9.2-bda: not found: no image ever had this tag (a typo?); counted in NotFoundCount\n');
  });

  test('Delete: the preview tags go, the preview repository is emptied, and each image that stays says why', () => {
    const teardown = step(6);
    expect(teardown).toContain(
      'Delete EcrPublicImageDeletionExample/PreviewImages: SUCCESS\n      pr-42: tag removed; image deleted: it was its last tag\n      pr-42-debug:',
    );
    expect(teardown).toMatch(
      /EmptyPreviewRepository: SUCCESS.*\n +web: image deleted, with every tag it had\n +worker: image deleted, with every tag it had\n/,
    );
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
    ]);
    expect(stays).toContain('cdk-ecr-public-image-deletion-example-pr-42 holds 0 images: empty, so CloudFormation can delete it');
  });
});
