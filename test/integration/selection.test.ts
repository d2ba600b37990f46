/**
 * Selections through the shipped handler bundle against the local ECR Public
 * (the emulator): the repository is listed, the selection evaluated, and only
 * what it selects is deleted. (Paging and manifest lists are in
 * test/unit/selection-handler.test.ts.)
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ecr-public';
import { createRepository, listImages, seedImage } from '../support/local-ecr-public';
import { useLocalRig } from '../support/local-rig';
import { selectionProperties } from '../support/cfn-events';
import { LocalCustomResource } from '../support/local-cloudformation';

describe('selections through the shipped handler against a local ECR Public', () => {
  const rig = useLocalRig();
  let count = 0;

  /** A repository with releases, PR images and untagged images; returns digests by name. */
  async function seeded() {
    const repo = `sel/repo-${++count}`;
    await createRepository(rig().client, repo);
    const digests = {
      release: await seedImage(rig().client, repo, `${repo}-release`, ['v1.0.0', 'latest']),
      old: await seedImage(rig().client, repo, `${repo}-old`, ['v0.9.0']),
      pr1: await seedImage(rig().client, repo, `${repo}-pr1`, ['pr-1']),
      pr2: await seedImage(rig().client, repo, `${repo}-pr2`, ['pr-2', 'pr-2-debug']),
      pr3: await seedImage(rig().client, repo, `${repo}-pr3`, ['pr-3', 'keep-me']),
      loose1: await seedImage(rig().client, repo, `${repo}-loose1`, []),
      loose2: await seedImage(rig().client, repo, `${repo}-loose2`, []),
    };
    return { repo, digests };
  }
  const props = selectionProperties;

  test('untaggedImages deletes the untagged images and nothing else', async () => {
    const { repo, digests } = await seeded();
    const result = await new LocalCustomResource(rig().server, { env: rig().env }).create(props(repo, { Match: 'untagged' }));
    // ECR Public reports the digest of an untagged image deleted by digest (moto reported nothing, so
    // this test could not check DeletedCount while it ran against moto).
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '2', FailureCount: '0' } });
    const left = await listImages(rig().client, repo);
    expect([...left.keys()].sort()).toEqual([digests.release, digests.old, digests.pr1, digests.pr2, digests.pr3].sort());
  });

  test('tagsMatching removes the matching tags: an image with another tag stays under it', async () => {
    const { repo, digests } = await seeded();
    const result = await new LocalCustomResource(rig().server, { env: rig().env }).create(props(repo, { Match: 'tagged', TagPatterns: ['pr-*'] }));
    expect(result.response?.body.Status).toBe('SUCCESS');
    const left = await listImages(rig().client, repo);
    expect(left.get(digests.pr3)).toEqual(['keep-me']);
    expect(left.has(digests.pr1)).toBe(false);
    expect(left.has(digests.pr2)).toBe(false);
    expect(left.get(digests.release)).toEqual(['latest', 'v1.0.0']);
    expect(left.size).toBe(5);
  });

  test('keepNewest keeps the newest of what matches (ties on the push time broken by digest)', async () => {
    const { repo, digests } = await seeded();
    // The push times as ECR Public (moto) reports them, read before the run: which two are newest is the backend's word, not ours.
    const listed = await rig().client.send(new DescribeImagesCommand({ repositoryName: repo }));
    const pushedAt = new Map((listed.imageDetails ?? []).map((d) => [d.imageDigest!, d.imagePushedAt!.getTime()]));
    const prImages = [digests.pr1, digests.pr2, digests.pr3];
    const newestFirst = [...prImages].sort((a, b) => pushedAt.get(b)! - pushedAt.get(a)! || (a < b ? -1 : 1));
    const result = await new LocalCustomResource(rig().server, { env: rig().env }).create(
      props(repo, { Match: 'tagged', TagPatterns: ['pr-*'], KeepNewest: '2' }),
    );
    expect(result.response?.body.Status).toBe('SUCCESS');
    const left = await listImages(rig().client, repo);
    const stillTagged = prImages.filter((d) => (left.get(d) ?? []).some((t) => t.startsWith('pr-')));
    expect(stillTagged.sort()).toEqual(newestFirst.slice(0, 2).sort());
    // The oldest lost its pr- tags: pr3 keeps its other tag, the others are gone.
    const oldest = newestFirst[2];
    expect(left.get(oldest) ?? null).toEqual(oldest === digests.pr3 ? ['keep-me'] : null);
  });

  test('allImages with protected tags empties all but the releases; a second run changes nothing', async () => {
    const { repo, digests } = await seeded();
    const resource = new LocalCustomResource(rig().server, { env: rig().env });
    const first = await resource.create(props(repo, { Match: 'all', ProtectTags: ['v*'] }));
    expect(first.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { FailureCount: '0' } });
    const left = await listImages(rig().client, repo);
    expect([...left.keys()].sort()).toEqual([digests.release, digests.old].sort());
    const again = await resource.update(props(repo, { Match: 'all', ProtectTags: ['v*'] }, { FailOnImageFailure: 'false' }));
    expect(again.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '0' } });
    expect(await listImages(rig().client, repo)).toEqual(left);
  });

  test('emptying on Delete leaves an empty repository when the stack is deleted', async () => {
    const { repo } = await seeded();
    const before = await listImages(rig().client, repo);
    const resource = new LocalCustomResource(rig().server, { env: rig().env });
    const requests = rig().faults.requests.length;
    const created = await resource.create(props(repo, { Match: 'all' }, { DeleteOn: ['Delete'] }));
    expect(created.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletionRan: 'false' } });
    expect(rig().faults.requests.length).toBe(requests);
    expect(await listImages(rig().client, repo)).toEqual(before);
    // CloudFormation is deleting the stack (a name only: no logical ID, so only the stack's deletion empties).
    rig().stack.fallback = { status: 'DELETE_IN_PROGRESS', template: { Resources: {} } };
    try {
      const deleted = await resource.delete();
      expect(deleted.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletionRan: 'true' } });
    } finally {
      rig().stack.fallback = { status: 'UPDATE_IN_PROGRESS', template: { Resources: {} } };
    }
    expect((await listImages(rig().client, repo)).size).toBe(0);
  });

  test('a dry run reports what would go and deletes nothing', async () => {
    const { repo } = await seeded();
    const before = await listImages(rig().client, repo);
    const result = await new LocalCustomResource(rig().server, { env: rig().env }).create(props(repo, { Match: 'all' }, { DryRun: 'true' }));
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DryRun: 'true', DeletedCount: '7' } });
    expect(await listImages(rig().client, repo)).toEqual(before);
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toMatchObject({ dryRun: true, calls: 0, selection: { listed: 7, matched: 7 } });
  });
});
