/**
 * The example app of cdk.json: registry hygiene for a release repository that
 * outlives the stack, and a pull request's own repository that goes with it.
 *
 *   npx cdk synth                                   # offline, no account needed
 *   npx cdk deploy -c pr=42                         # with AWS credentials
 *   npx cdk deploy -c withdrawn=v0.9.0-broken,v0.9.1-bad
 *   npm run demo                                    # the whole lifecycle locally, against the local ECR Public
 */
import { App, CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { DeletionEvent, EcrPublicImageDeletion, ImageSelection } from '../lib';

export interface ExampleStackProps extends StackProps {
  /** The pull request whose preview images go when the stack is deleted. */
  readonly pr: string;
  /** Release tags withdrawn for good: deleted when the stack is created, and again whenever this list changes. */
  readonly withdrawn: string[];
}

export class ExampleStack extends Stack {
  constructor(scope: Construct, id: string, props: ExampleStackProps) {
    super(scope, id, props);

    const repo = new ecr.CfnPublicRepository(this, 'Repository', {
      repositoryName: 'cdk-ecr-public-image-deletion-example',
    });
    // The repository holds releases that outlive this stack (and CloudFormation
    // cannot delete a public repository that still has images).
    repo.applyRemovalPolicy(RemovalPolicy.RETAIN);

    const withdrawn = new EcrPublicImageDeletion(this, 'WithdrawnReleases', {
      repositoryName: repo.ref,
      imageIds: props.withdrawn.map((imageTag) => ({ imageTag })),
      deleteOn: [DeletionEvent.CREATE, DeletionEvent.UPDATE],
    });

    const preview = new EcrPublicImageDeletion(this, 'PreviewImages', {
      repositoryName: repo.ref,
      imageIds: [{ imageTag: `pr-${props.pr}` }, { imageTag: `pr-${props.pr}-debug` }],
      deleteOn: [DeletionEvent.DELETE],
    });

    // Release hygiene: of the vX.Y.Z tags, the newest 3 stay, and whatever carries
    // `latest`; older release tags go when the stack is created and whenever this
    // deletion's properties change (a redeploy of the same template sends no event).
    new EcrPublicImageDeletion(this, 'OldReleases', {
      repositoryName: repo.ref,
      select: ImageSelection.tagsMatching('v?.?.?').keepNewest(3).protectTags('latest'),
      deleteOn: [DeletionEvent.CREATE, DeletionEvent.UPDATE],
    });

    // Release candidates: a dry run first, which reports what it would delete (on Create and on a change).
    new EcrPublicImageDeletion(this, 'ReleaseCandidates', {
      repositoryName: repo.ref,
      select: ImageSelection.tagsMatching('*-rc*'),
      deleteOn: [DeletionEvent.CREATE, DeletionEvent.UPDATE],
      dryRun: true,
    });

    // Untagged images: when the stack is created or this deletion changes, and every day.
    new EcrPublicImageDeletion(this, 'UntaggedImages', {
      repositoryName: repo.ref,
      select: ImageSelection.untaggedImages(),
      deleteOn: [DeletionEvent.CREATE, DeletionEvent.UPDATE],
      schedule: events.Schedule.rate(Duration.days(1)),
    });

    // The pull request's own repository goes with the stack: emptied first, so
    // that CloudFormation can delete it.
    const previewRepo = new ecr.CfnPublicRepository(this, 'PreviewRepository', {
      repositoryName: `cdk-ecr-public-image-deletion-example-pr-${props.pr}`,
    });
    EcrPublicImageDeletion.emptyOnDelete(this, 'EmptyPreviewRepository', previewRepo);

    new CfnOutput(this, 'WithdrawnDeleted', { value: withdrawn.deletedImageIdsJson });
    new CfnOutput(this, 'WithdrawnFailures', { value: withdrawn.failuresJson });
    new CfnOutput(this, 'PreviewDeletionRan', { value: preview.deletionRan });
    // Where each event and each scheduled run writes its one JSON line: `aws logs tail <this name>`.
    new CfnOutput(this, 'DeletionLogGroup', { value: preview.logGroup.logGroupName });
  }
}

/** Builds the app from context values (`-c pr=42 -c withdrawn=a,b`), with defaults. */
export function buildApp(context: Record<string, string> = {}): App {
  const app = new App({ context });
  const withdrawn = String(app.node.tryGetContext('withdrawn') ?? 'v0.9.0-broken');
  new ExampleStack(app, 'EcrPublicImageDeletionExample', {
    // AWS::ECR::PublicRepository exists in us-east-1 only.
    env: { region: 'us-east-1' },
    pr: String(app.node.tryGetContext('pr') ?? '42'),
    withdrawn: withdrawn.split(',').filter((tag) => tag.length > 0),
  });
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
