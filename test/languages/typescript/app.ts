import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import { DeletionEvent, EcrPublicImageDeletion, ImageSelection } from 'cdk-ecr-public-image-deletion';

const app = new App();
const stack = new Stack(app, 'RegistryHygiene', { env: { region: 'us-east-1' } });
const repo = new ecr.CfnPublicRepository(stack, 'Repository', { repositoryName: 'my-app' });

// Declared image IDs: the pull request's images go when the stack is deleted.
const prImages = new EcrPublicImageDeletion(stack, 'PrImages', {
  repositoryName: repo.ref,
  imageIds: [{ imageTag: 'pr-42' }, { imageTag: 'pr-42-debug' }],
  deleteOn: [DeletionEvent.DELETE],
});
new CfnOutput(stack, 'PrImagesDeleted', { value: prImages.deletedImageIdsJson });

// A selection: release tags older than 30 days, but never the newest 10 nor 'latest',
// when created, changed or deleted, and every day at 03:00 UTC. Dry run: it only reports what would go.
new EcrPublicImageDeletion(stack, 'OldReleases', {
  repositoryName: repo.ref,
  select: ImageSelection.tagsMatching('v*').olderThan(Duration.days(30)).keepNewest(10).protectTags('latest'),
  schedule: events.Schedule.cron({ minute: '0', hour: '3' }),
  dryRun: true,
});

// A private repository's lifecycle policy, unchanged, every day: the 10 newest releases stay,
// untagged images go after a week, and the repository keeps 100 images at most.
const lifecycleRules: ecr.LifecycleRule[] = [
  { rulePriority: 1, description: 'Keep the 10 newest releases', tagPatternList: ['v*'], maxImageCount: 10 },
  { rulePriority: 2, description: 'Untagged images go after a week', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(7) },
  { description: 'At most 100 images', maxImageCount: 100 },
];
const lifecycle = new EcrPublicImageDeletion(stack, 'LifecyclePolicy', {
  repositoryName: repo.ref,
  select: ImageSelection.fromLifecycleRules(lifecycleRules),
  schedule: events.Schedule.rate(Duration.days(1)),
});
new CfnOutput(stack, 'LifecycleRuleCounts', { value: lifecycle.ruleCountsJson });

// Every image goes when the stack is deleted, so CloudFormation can delete the repository.
EcrPublicImageDeletion.emptyOnDelete(stack, 'EmptyOnDelete', repo);

app.synth();
