package com.example;

import java.util.List;

import io.github.cdkecrpublicimagedeletion.DeletionEvent;
import io.github.cdkecrpublicimagedeletion.EcrPublicImageDeletion;
import io.github.cdkecrpublicimagedeletion.ImageIdentifier;
import io.github.cdkecrpublicimagedeletion.ImageSelection;
import software.amazon.awscdk.App;
import software.amazon.awscdk.CfnOutput;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.services.ecr.CfnPublicRepository;
import software.amazon.awscdk.services.ecr.LifecycleRule;
import software.amazon.awscdk.services.ecr.TagStatus;
import software.amazon.awscdk.services.events.CronOptions;
import software.amazon.awscdk.services.events.Schedule;

public class RegistryHygieneApp {
    public static void main(String[] args) {
        App app = new App();
        Stack stack = new Stack(app, "RegistryHygiene", StackProps.builder()
                .env(Environment.builder().region("us-east-1").build())
                .build());
        CfnPublicRepository repo = CfnPublicRepository.Builder.create(stack, "Repository")
                .repositoryName("my-app")
                .build();

        // Declared image IDs: the pull request's images go when the stack is deleted.
        EcrPublicImageDeletion prImages = EcrPublicImageDeletion.Builder.create(stack, "PrImages")
                .repositoryName(repo.getRef())
                .imageIds(List.of(
                        ImageIdentifier.builder().imageTag("pr-42").build(),
                        ImageIdentifier.builder().imageTag("pr-42-debug").build()))
                .deleteOn(List.of(DeletionEvent.DELETE))
                .build();
        CfnOutput.Builder.create(stack, "PrImagesDeleted").value(prImages.getDeletedImageIdsJson()).build();

        // A selection: release tags older than 30 days, but never the newest 10 nor 'latest',
        // when created, changed or deleted, and every day at 03:00 UTC. Dry run: it only reports what would go.
        EcrPublicImageDeletion.Builder.create(stack, "OldReleases")
                .repositoryName(repo.getRef())
                .select(ImageSelection.tagsMatching("v*").olderThan(Duration.days(30)).keepNewest(10).protectTags("latest"))
                .schedule(Schedule.cron(CronOptions.builder().minute("0").hour("3").build()))
                .dryRun(true)
                .build();

        // A private repository's lifecycle policy, unchanged, every day: the 10 newest releases stay,
        // untagged images go after a week, and the repository keeps 100 images at most.
        List<LifecycleRule> lifecycleRules = List.of(
                LifecycleRule.builder().rulePriority(1).description("Keep the 10 newest releases")
                        .tagPatternList(List.of("v*")).maxImageCount(10).build(),
                LifecycleRule.builder().rulePriority(2).description("Untagged images go after a week")
                        .tagStatus(TagStatus.UNTAGGED).maxImageAge(Duration.days(7)).build(),
                LifecycleRule.builder().description("At most 100 images").maxImageCount(100).build());
        EcrPublicImageDeletion lifecycle = EcrPublicImageDeletion.Builder.create(stack, "LifecyclePolicy")
                .repositoryName(repo.getRef())
                .select(ImageSelection.fromLifecycleRules(lifecycleRules))
                .schedule(Schedule.rate(Duration.days(1)))
                .build();
        CfnOutput.Builder.create(stack, "LifecycleRuleCounts").value(lifecycle.getRuleCountsJson()).build();

        // Every image goes when the stack is deleted, so CloudFormation can delete the repository.
        EcrPublicImageDeletion.emptyOnDelete(stack, "EmptyOnDelete", repo);

        app.synth();
    }
}
