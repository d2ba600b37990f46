from aws_cdk import App, CfnOutput, Duration, Environment, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_events as events
from cdk_ecr_public_image_deletion import DeletionEvent, EcrPublicImageDeletion, ImageIdentifier, ImageSelection

app = App()
stack = Stack(app, "RegistryHygiene", env=Environment(region="us-east-1"))
repo = ecr.CfnPublicRepository(stack, "Repository", repository_name="my-app")

# Declared image IDs: the pull request's images go when the stack is deleted.
pr_images = EcrPublicImageDeletion(stack, "PrImages",
    repository_name=repo.ref,
    image_ids=[ImageIdentifier(image_tag="pr-42"), ImageIdentifier(image_tag="pr-42-debug")],
    delete_on=[DeletionEvent.DELETE],
)
CfnOutput(stack, "PrImagesDeleted", value=pr_images.deleted_image_ids_json)

# A selection: release tags older than 30 days, but never the newest 10 nor 'latest',
# when created, changed or deleted, and every day at 03:00 UTC. Dry run: it only reports what would go.
EcrPublicImageDeletion(stack, "OldReleases",
    repository_name=repo.ref,
    select=ImageSelection.tags_matching("v*").older_than(Duration.days(30)).keep_newest(10).protect_tags("latest"),
    schedule=events.Schedule.cron(minute="0", hour="3"),
    dry_run=True,
)

# A private repository's lifecycle policy, unchanged, every day: the 10 newest releases stay,
# untagged images go after a week, and the repository keeps 100 images at most.
lifecycle_rules = [
    ecr.LifecycleRule(rule_priority=1, description="Keep the 10 newest releases", tag_pattern_list=["v*"], max_image_count=10),
    ecr.LifecycleRule(rule_priority=2, description="Untagged images go after a week", tag_status=ecr.TagStatus.UNTAGGED, max_image_age=Duration.days(7)),
    ecr.LifecycleRule(description="At most 100 images", max_image_count=100),
]
lifecycle = EcrPublicImageDeletion(stack, "LifecyclePolicy",
    repository_name=repo.ref,
    select=ImageSelection.from_lifecycle_rules(lifecycle_rules),
    schedule=events.Schedule.rate(Duration.days(1)),
)
CfnOutput(stack, "LifecycleRuleCounts", value=lifecycle.rule_counts_json)

# Every image goes when the stack is deleted, so CloudFormation can delete the repository.
EcrPublicImageDeletion.empty_on_delete(stack, "EmptyOnDelete", repo)

app.synth()
