/**
 * The shipped handler bundle, run as Lambda would run it, through whole
 * CloudFormation lifecycles against the local ECR Public (the emulator).
 */
import { createRepository, listImages, seedImage } from '../support/local-ecr-public';
import { useLocalRig } from '../support/local-rig';
import { LocalCustomResource, RESPONSE_URL_SECRET } from '../support/local-cloudformation';

function properties(repositoryName: string, imageIds: object[], deleteOn = ['Create', 'Update', 'Delete'], extra: object = {}) {
  return { RepositoryName: repositoryName, ImageIds: imageIds, DeleteOn: deleteOn, FailOnImageFailure: 'true', ApiRegion: 'us-east-1', ...extra };
}

describe('the shipped handler against a local ECR Public', () => {
  const rig = useLocalRig();
  let repoCount = 0;
  const newRepo = async () => {
    const name = `it/repo-${++repoCount}`;
    await createRepository(rig().client, name);
    return name;
  };

  test('Create, Update and Delete delete exactly what each event declares', async () => {
    const repo = await newRepo();
    const twoTags = await seedImage(rig().client, repo, 'app-v1', ['v1', 'stable']);
    const pr1 = await seedImage(rig().client, repo, 'pr-1', ['pr-1']);
    const pr2 = await seedImage(rig().client, repo, 'pr-2', ['pr-2', 'pr-2-debug']);
    const kept = await seedImage(rig().client, repo, 'release', ['release-7']);
    const resource = new LocalCustomResource(rig().server, { env: rig().env });

    // Create: removing one of two tags leaves the image under the other.
    const created = await resource.create(properties(repo, [{ imageTag: 'v1' }], ['Create', 'Delete']));
    expect(created.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', FailureCount: '0', DeletionRan: 'true' } });
    expect(JSON.parse(created.response!.body.Data!.ImageIds)).toEqual([{ imageTag: 'v1', imageDigest: twoTags }]);
    expect(await listImages(rig().client, repo)).toEqual(
      new Map([
        [twoTags, ['stable']],
        [pr1, ['pr-1']],
        [pr2, ['pr-2', 'pr-2-debug']],
        [kept, ['release-7']],
      ]),
    );
    const physicalId = resource.physicalResourceId;

    // Update: deleteOn leaves Update out, so nothing happens, and the physical ID stays.
    const declared = [{ imageDigest: pr2 }, { imageTag: 'pr-1' }];
    const updated = await resource.update(properties(repo, declared, ['Delete']));
    expect(updated.response?.body).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: physicalId,
      Data: { DeletionRan: 'false', DeletedCount: '0' },
    });
    expect((await listImages(rig().client, repo)).size).toBe(4);

    // Delete: a digest removes the image with all its tags; undeclared images stay.
    const deleted = await resource.delete();
    expect(deleted.response?.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physicalId, Data: { FailureCount: '0' } });
    // The digest goes with both its tags (two IDs), the tag with its image (one).
    expect(deleted.response!.body.Data!.DeletedCount).toBe('3');
    expect(await listImages(rig().client, repo)).toEqual(
      new Map([
        [twoTags, ['stable']],
        [kept, ['release-7']],
      ]),
    );

    // The same Delete again (CloudFormation retries): the images are gone, the goal holds.
    const again = await resource.delete();
    expect(again.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0', FailureCount: '2' } });
    expect(JSON.parse(again.response!.body.Data!.Failures).map((f: { failureCode: string }) => f.failureCode)).toEqual([
      'ImageNotFound',
      'ImageNotFound',
    ]);
    expect(await listImages(rig().client, repo)).toEqual(
      new Map([
        [twoTags, ['stable']],
        [kept, ['release-7']],
      ]),
    );

    for (const run of [created, updated, deleted, again]) {
      expect(run.exitCode).toBe(0);
      expect(run.stdout + run.stderr).not.toContain(RESPONSE_URL_SECRET);
      const line = JSON.parse(run.stdout.trim().split('\n').pop()!);
      expect(line).toMatchObject({ message: 'EcrPublicImageDeletion event', repository: repo });
    }
  });

  test('an Update deletes the new declaration and keeps the physical ID', async () => {
    const repo = await newRepo();
    const a = await seedImage(rig().client, repo, 'a', ['a']);
    const b = await seedImage(rig().client, repo, 'b', ['b']);
    const resource = new LocalCustomResource(rig().server, { env: rig().env });
    await resource.create(properties(repo, [{ imageTag: 'a' }]));
    const physicalId = resource.physicalResourceId;
    expect(await listImages(rig().client, repo)).toEqual(new Map([[b, ['b']]]));

    const updated = await resource.update(properties(repo, [{ imageDigest: b }]));
    expect(updated.response?.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: physicalId, Data: { DeletedCount: '1' } });
    expect(await listImages(rig().client, repo)).toEqual(new Map());
    expect(a).not.toEqual(b);
  });

  test('a missing repository fails the Create, and the rollback Delete succeeds without a call', async () => {
    const resource = new LocalCustomResource(rig().server, { env: rig().env });
    const created = await resource.create(properties('it/never-created', [{ imageTag: 'x' }]));
    expect(created.response?.body.Status).toBe('FAILED');
    expect(created.response?.body.Reason).toContain('repository "it/never-created"');
    expect(created.response?.body.Reason).toContain('does not exist');

    const rollback = await resource.delete();
    expect(rollback.response?.body.Status).toBe('SUCCESS');
    expect(JSON.parse(rollback.stdout.trim().split('\n').pop()!)).toMatchObject({ action: 'skip', calls: 0 });
  });

  test('a Delete succeeds when the repository is already gone', async () => {
    const resource = new LocalCustomResource(rig().server, { env: rig().env });
    await resource.create(properties('it/gone-later', [{ imageTag: 'x' }], ['Delete']));
    const deleted = await resource.delete();
    expect(deleted.response?.body.Status).toBe('SUCCESS');
    expect(deleted.response?.body.Reason).toContain('does not exist');
  });

  test('properties that resolve to invalid values fail with a reason and no call', async () => {
    const repo = await newRepo();
    const digest = await seedImage(rig().client, repo, 'safe', ['safe']);
    const resource = new LocalCustomResource(rig().server, { env: rig().env });
    const created = await resource.create(properties(repo, [{ imageTag: 'safe' }, { imageDigest: 'sha256:abc' }]));
    expect(created.response?.body.Status).toBe('FAILED');
    expect(created.response?.body.Reason).toContain('imageIds[1]: imageDigest "sha256:abc" is not a sha256 digest');
    expect(await listImages(rig().client, repo)).toEqual(new Map([[digest, ['safe']]]));
  });

  test('1,000 declared images are deleted in one event, within the 4,096-byte response', async () => {
    const repo = await newRepo();
    const tags = Array.from({ length: 1000 }, (_, i) => `build-${String(i).padStart(4, '0')}`);
    for (const tag of tags) await seedImage(rig().client, repo, tag, [tag]);
    const kept = await seedImage(rig().client, repo, 'kept', ['kept']);
    const resource = new LocalCustomResource(rig().server, { env: rig().env });

    const created = await resource.create(
      properties(
        repo,
        tags.map((imageTag) => ({ imageTag })),
      ),
    );
    expect(created.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1000', Truncated: 'true' } });
    expect(created.response!.bytes).toBeLessThan(4096);
    expect(JSON.parse(created.stdout.trim().split('\n').pop()!)).toMatchObject({ calls: 10, deleted: 1000 });
    expect(await listImages(rig().client, repo)).toEqual(new Map([[kept, ['kept']]]));
  });
});
