package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"
	deletion "github.com/cdk-ecr-public-image-deletion/cdk-ecr-public-image-deletion-go/cdkecrpublicimagedeletion"
)

func main() {
	defer jsii.Close()

	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("RegistryHygiene"), &awscdk.StackProps{
		Env: &awscdk.Environment{Region: jsii.String("us-east-1")},
	})
	repo := awsecr.NewCfnPublicRepository(stack, jsii.String("Repository"), &awsecr.CfnPublicRepositoryProps{
		RepositoryName: jsii.String("my-app"),
	})

	// Declared image IDs: the pull request's images go when the stack is deleted.
	prImages := deletion.NewEcrPublicImageDeletion(stack, jsii.String("PrImages"), &deletion.EcrPublicImageDeletionProps{
		RepositoryName: repo.Ref(),
		ImageIds: &[]*deletion.ImageIdentifier{
			{ImageTag: jsii.String("pr-42")},
			{ImageTag: jsii.String("pr-42-debug")},
		},
		DeleteOn: &[]deletion.DeletionEvent{deletion.DeletionEvent_DELETE},
	})
	awscdk.NewCfnOutput(stack, jsii.String("PrImagesDeleted"), &awscdk.CfnOutputProps{
		Value: prImages.DeletedImageIdsJson(),
	})

	// A selection: release tags older than 30 days, but never the newest 10 nor 'latest',
	// when created, changed or deleted, and every day at 03:00 UTC. Dry run: it only reports what would go.
	deletion.NewEcrPublicImageDeletion(stack, jsii.String("OldReleases"), &deletion.EcrPublicImageDeletionProps{
		RepositoryName: repo.Ref(),
		Select: deletion.ImageSelection_TagsMatching(jsii.String("v*")).
			OlderThan(awscdk.Duration_Days(jsii.Number(30))).
			KeepNewest(jsii.Number(10)).
			ProtectTags(jsii.String("latest")),
		Schedule: awsevents.Schedule_Cron(&awsevents.CronOptions{Minute: jsii.String("0"), Hour: jsii.String("3")}),
		DryRun:   jsii.Bool(true),
	})

	// A private repository's lifecycle policy, unchanged, every day: the 10 newest releases stay,
	// untagged images go after a week, and the repository keeps 100 images at most.
	lifecycleRules := &[]*awsecr.LifecycleRule{
		{RulePriority: jsii.Number(1), Description: jsii.String("Keep the 10 newest releases"), TagPatternList: jsii.Strings("v*"), MaxImageCount: jsii.Number(10)},
		{RulePriority: jsii.Number(2), Description: jsii.String("Untagged images go after a week"), TagStatus: awsecr.TagStatus_UNTAGGED, MaxImageAge: awscdk.Duration_Days(jsii.Number(7))},
		{Description: jsii.String("At most 100 images"), MaxImageCount: jsii.Number(100)},
	}
	lifecycle := deletion.NewEcrPublicImageDeletion(stack, jsii.String("LifecyclePolicy"), &deletion.EcrPublicImageDeletionProps{
		RepositoryName: repo.Ref(),
		Select:         deletion.ImageSelection_FromLifecycleRules(lifecycleRules),
		Schedule:       awsevents.Schedule_Rate(awscdk.Duration_Days(jsii.Number(1))),
	})
	awscdk.NewCfnOutput(stack, jsii.String("LifecycleRuleCounts"), &awscdk.CfnOutputProps{
		Value: lifecycle.RuleCountsJson(),
	})

	// Every image goes when the stack is deleted, so CloudFormation can delete the repository.
	deletion.EcrPublicImageDeletion_EmptyOnDelete(stack, jsii.String("EmptyOnDelete"), repo)

	app.Synth(nil)
}
