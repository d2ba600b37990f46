/**
 * CloudFormation's side fails: the ResponseURL answers 500 or drops the
 * connection. The shipped bundle retries the PUT until the response arrives,
 * runs the deletion only once, and never logs the presigned ResponseURL.
 *
 * @jest-environment ./test/support/failure-aware-environment.ts
 */
import { CfnEvents } from '../support/cfn-events';
import { failedTestCount } from '../support/figures';
import { RESPONSE_URL_SECRET, invokeHandler } from '../support/local-cloudformation';
import { createRepository, listImages, seedImage } from '../support/local-ecr-public';
import { useLocalRig } from '../support/local-rig';

describe('faults on the way back to CloudFormation', () => {
  let repoCount = 0;
  const answersRefused = { '500': 0, drop: 0 };

  // No faults: the emulator counts the calls.
  const rig = useLocalRig({}, () => {
    if (failedTestCount() > 0) console.log(`ResponseURL faults injected (printed because a test failed): ${JSON.stringify(answersRefused)}`);
  });

  async function repositoryWith(tags: string[]): Promise<string> {
    const repo = `response-faults/repo-${++repoCount}`;
    await createRepository(rig().client, repo);
    for (const tag of tags) await seedImage(rig().client, repo, `${repo}-${tag}`, [tag]);
    return repo;
  }
  const properties = (repo: string, tags: string[]) => ({
    RepositoryName: repo,
    ImageIds: tags.map((imageTag) => ({ imageTag })),
    DeleteOn: ['Create', 'Update', 'Delete'],
    FailOnImageFailure: 'true',
    ApiRegion: 'us-east-1',
  });
  const refuse = (...faults: Array<'500' | 'drop'>) => {
    for (const fault of faults) answersRefused[fault]++;
    rig().server.faults.push(...faults);
  };

  test('500, dropped, 500, dropped: the fifth PUT delivers the response; the deletion ran once', async () => {
    const repo = await repositoryWith(['pr-1', 'keep']);
    const event = new CfnEvents(rig().server).create(properties(repo, ['pr-1']));
    const attemptsBefore = rig().server.attempts;
    const callsBefore = rig().faults.requests.length;
    refuse('500', 'drop', '500', 'drop');

    const result = await invokeHandler(rig().server, event, { env: rig().env });
    expect(rig().server.faults).toEqual([]);
    expect(rig().server.attempts - attemptsBefore).toBe(5);
    expect(result.exitCode).toBe(0);
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', FailureCount: '0' } });
    expect(rig().faults.requests.length - callsBefore).toBe(1);
    expect([...(await listImages(rig().client, repo)).values()]).toEqual([['keep']]);
    expect(result.stdout).toContain('"status":"SUCCESS"');
    expect(result.stdout + result.stderr).not.toContain(RESPONSE_URL_SECRET);
  }, 30_000);

  test('a Delete whose first two answers are dropped still reaches CloudFormation', async () => {
    const repo = await repositoryWith(['pr-2']);
    const event = new CfnEvents(rig().server).delete('EcrPublicImageDeletion-ImageDeletion-earlier', properties(repo, ['pr-2']));
    refuse('drop', 'drop');
    const result = await invokeHandler(rig().server, event, { env: rig().env });
    expect(result.exitCode).toBe(0);
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'EcrPublicImageDeletion-ImageDeletion-earlier' });
    expect((await listImages(rig().client, repo)).size).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(RESPONSE_URL_SECRET);
  }, 30_000);

  test('when every attempt fails, the handler gives up saying so, without the ResponseURL in any log', async () => {
    const repo = await repositoryWith(['pr-3']);
    const event = new CfnEvents(rig().server).create(properties(repo, ['pr-3']));
    const attemptsBefore = rig().server.attempts;
    const callsBefore = rig().faults.requests.length;
    refuse('500', 'drop', '500', 'drop', '500');

    const result = await invokeHandler(rig().server, event, { env: rig().env });
    expect(rig().server.attempts - attemptsBefore).toBe(5);
    expect(result.response).toBeUndefined();
    expect(result.exitCode).toBe(1); // the invocation fails: Lambda's own log records it
    expect(result.stderr).toContain('could not deliver the response to CloudFormation after 5 attempts: HTTP 500');
    expect(result.stdout + result.stderr).not.toContain(RESPONSE_URL_SECRET);
    expect(result.stdout + result.stderr).not.toContain('X-Amz-Signature');
    expect(rig().faults.requests.length - callsBefore).toBe(1);
  }, 30_000);
});
