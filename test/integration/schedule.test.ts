/**
 * A tick of a deletion's schedule through the shipped handler bundle against
 * the local ECR Public (the emulator): the rule's input, taken from the synthesized
 * template, runs the selection; nothing is answered; a failed run fails the
 * invocation, as Lambda would record it.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import { EcrPublicImageDeletion, ImageSelection } from '../../lib';
import type { ScheduledEvent } from '../../lib/contract';
import { invokeHandler } from '../support/local-cloudformation';
import { singleImage } from '../../local/ecr-public';
import { createRepository, listImages, seedImage } from '../support/local-ecr-public';
import { useLocalRig } from '../support/local-rig';

const DAY = 86_400_000;

/** The input of the deletion's rule, exactly as the template gives it to EventBridge. */
function ruleInput(repositoryName: string, select: ImageSelection): ScheduledEvent {
  const stack = new Stack(new App(), 'Scheduled', { env: { region: 'us-east-1' } });
  new EcrPublicImageDeletion(stack, 'Previews', { repositoryName, select, schedule: events.Schedule.rate(Duration.days(1)) });
  const [rule] = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'));
  return JSON.parse(rule.Properties.Targets[0].Input);
}

describe('a scheduled run through the shipped handler against a local ECR Public', () => {
  const rig = useLocalRig();

  test("the rule's input runs the selection and answers nobody", async () => {
    const repo = 'schedule/previews';
    await createRepository(rig().client, repo);
    const release = await seedImage(rig().client, repo, `${repo}-release`, ['v1.0.0', 'latest']);
    const pr1 = await seedImage(rig().client, repo, `${repo}-pr1`, ['pr-1']);
    const pr2 = await seedImage(rig().client, repo, `${repo}-pr2`, ['pr-2', 'keep-me']);

    const before = rig().faults.requests.length;
    const result = await invokeHandler(rig().server, ruleInput(repo, ImageSelection.tagsMatching('pr-*')), { env: rig().env });
    expect(result.exitCode).toBe(0);
    expect(rig().server.attempts).toBe(0);
    expect(
      rig()
        .faults.requests.slice(before)
        .map((r) => r.operation.split('.').pop()),
    ).toEqual(['DescribeImages', 'DescribeImages', 'BatchDeleteImage']); // the listing; pr-2 checked just before its removal by name
    const left = await listImages(rig().client, repo);
    expect(left.has(pr1)).toBe(false);
    expect(left.get(pr2)).toEqual(['keep-me']);
    expect(left.get(release)).toEqual(['latest', 'v1.0.0']);
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toMatchObject({
      requestType: 'Scheduled',
      logicalResourceId: expect.stringMatching(/^Previews/),
      status: 'SUCCESS',
      deleted: 2,
    });
  });

  test("a lifecycle policy on a schedule: the rule's input carries it, and each tick expires what its rules expire then", async () => {
    const repo = 'schedule/policy';
    rig().emulator.createRepository(repo);
    const now = Date.now();
    const releases = [1, 2, 3, 4].map((n) => singleImage(`${repo}-v${n}`, { tags: [`v${n}`], pushedAt: now - (10 - n) * DAY }));
    const untagged = singleImage(`${repo}-loose`, { pushedAt: now - 8 * DAY });
    rig().emulator.seed(repo, [...releases, untagged]);
    const select = ImageSelection.fromLifecycleRules([
      { rulePriority: 1, tagPatternList: ['v*'], maxImageCount: 2 },
      { rulePriority: 2, tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(7) },
    ]);
    const result = await invokeHandler(rig().server, ruleInput(repo, select), { env: rig().env });
    expect(result.exitCode).toBe(0);
    expect(rig().server.attempts).toBe(0);
    expect([...(await listImages(rig().client, repo)).keys()].sort()).toEqual([releases[2].digest, releases[3].digest].sort());
    const line = JSON.parse(result.stdout.trim().split('\n').pop()!);
    expect(line).toMatchObject({ requestType: 'Scheduled', status: 'SUCCESS' });
    expect(line.selection.rules.map(({ priority, expired }: { priority: number; expired: number }) => [priority, expired])).toEqual([
      [1, 2],
      [2, 1],
    ]);
    // The next tick finds nothing more to expire.
    const again = await invokeHandler(rig().server, ruleInput(repo, select), { env: rig().env });
    expect(JSON.parse(again.stdout.trim().split('\n').pop()!)).toMatchObject({ status: 'SUCCESS', deleted: 0 });
  });

  test('a run that fails makes the invocation fail, with the reason', async () => {
    const result = await invokeHandler(rig().server, ruleInput('schedule/never-created', ImageSelection.untaggedImages()), { env: rig().env });
    expect(result.exitCode).toBe(1);
    expect(rig().server.attempts).toBe(0);
    expect(result.stderr).toMatch(
      /ScheduledRunFailedError: scheduled run of Previews\w+ failed: repository "schedule\/never-created" .* does not exist/,
    );
  });
});
