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

# Every image goes when the stack is deleted, so CloudFormation can delete the repository.
EcrPublicImageDeletion.empty_on_delete(stack, "EmptyOnDelete", repo)

app.synth()
