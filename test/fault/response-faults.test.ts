/**
 * CloudFormation's side fails: the ResponseURL answers 500 or drops the
 * connection. The shipped bundle retries the PUT until the response arrives,
 * runs the deletion only once, and never logs the presigned ResponseURL.
 *
 * @jest-environment ./test/support/failure-aware-environment.ts
 */
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { CfnEvents } from '../support/cfn-events';
import type { FaultInjector } from '../../local/ecr-public';
import { failedTestCount } from '../support/figures';
import { RESPONSE_URL_SECRET, ResponseServer, invokeHandler } from '../support/local-cloudformation';
import { createRepository, listImages, seedImage } from '../support/local-ecr-public';
import { LocalRig, startLocalRig } from '../support/local-rig';

describe('faults on the way back to CloudFormation', () => {
  let client: ECRPUBLICClient;
  let server: ResponseServer;
  let injector: FaultInjector;
  let env: Record<string, string>;
  let repoCount = 0;
  const answersRefused = { '500': 0, drop: 0 };

  let rig: LocalRig | undefined;

  beforeAll(async () => {
    rig = await startLocalRig(); // no faults: the emulator counts the calls
    ({ client, server, faults: injector, env } = rig);
  });
  afterAll(async () => {
    if (failedTestCount() > 0) console.log(`ResponseURL faults injected (printed because a test failed): ${JSON.stringify(answersRefused)}`);
    await rig?.stop();
  });

  async function repositoryWith(tags: string[]): Promise<string> {
    const repo = `response-faults/repo-${++repoCount}`;
    await createRepository(client, repo);
    for (const tag of tags) await seedImage(client, repo, `${repo}-${tag}`, [tag]);
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
    server.faults.push(...faults);
  };

  test('500, dropped, 500, dropped: the fifth PUT delivers the response; the deletion ran once', async () => {
    const repo = await repositoryWith(['pr-1', 'keep']);
    const event = new CfnEvents(server).create(properties(repo, ['pr-1']));
    const attemptsBefore = server.attempts;
    const callsBefore = injector.requests.length;
    refuse('500', 'drop', '500', 'drop');

    const result = await invokeHandler(server, event, { env });
    expect(server.faults).toEqual([]);
    expect(server.attempts - attemptsBefore).toBe(5);
    expect(result.exitCode).toBe(0);
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', Data: { DeletedCount: '1', FailureCount: '0' } });
    expect(injector.requests.length - callsBefore).toBe(1);
    expect([...(await listImages(client, repo)).values()]).toEqual([['keep']]);
    expect(result.stdout).toContain('"status":"SUCCESS"');
    expect(result.stdout + result.stderr).not.toContain(RESPONSE_URL_SECRET);
  }, 30_000);

  test('a Delete whose first two answers are dropped still reaches CloudFormation', async () => {
    const repo = await repositoryWith(['pr-2']);
    const event = new CfnEvents(server).delete('EcrPublicImageDeletion-ImageDeletion-earlier', properties(repo, ['pr-2']));
    refuse('drop', 'drop');
    const result = await invokeHandler(server, event, { env });
    expect(result.exitCode).toBe(0);
    expect(result.response?.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'EcrPublicImageDeletion-ImageDeletion-earlier' });
    expect((await listImages(client, repo)).size).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(RESPONSE_URL_SECRET);
  }, 30_000);

  test('when every attempt fails, the handler gives up saying so, without the ResponseURL in any log', async () => {
    const repo = await repositoryWith(['pr-3']);
    const event = new CfnEvents(server).create(properties(repo, ['pr-3']));
    const attemptsBefore = server.attempts;
    const callsBefore = injector.requests.length;
    refuse('500', 'drop', '500', 'drop', '500');

    const result = await invokeHandler(server, event, { env });
    expect(server.attempts - attemptsBefore).toBe(5);
    expect(result.response).toBeUndefined();
    expect(result.exitCode).toBe(1); // the invocation fails: Lambda's own log records it
    expect(result.stderr).toContain('could not deliver the response to CloudFormation after 5 attempts: HTTP 500');
    expect(result.stdout + result.stderr).not.toContain(RESPONSE_URL_SECRET);
    expect(result.stdout + result.stderr).not.toContain('X-Amz-Signature');
    expect(injector.requests.length - callsBefore).toBe(1);
  }, 30_000);
});
