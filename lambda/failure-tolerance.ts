/**
 * Which per-image failures fail the event: decided here, and only here.
 * ImageNotFound never does (the image is already gone, or the ID is a typo
 * the log line lists). A refusal for an image a kept manifest list still
 * references does not when a selection's pass got it: the selection keeps
 * what kept indexes reference, and ECR Public refusing the rest is the second
 * line of defence doing its job. Every other failure does, unless
 * failOnImageFailure is false.
 */
import type { ImageFailure } from '@aws-sdk/client-ecr-public';
import { IMAGE_NOT_FOUND, IMAGE_REFERENCED_BY_MANIFEST_LIST } from '../lib/contract';

/** ECR Public refused to delete the image because a manifest list still references it. */
export function isReferencedRefusal(failure: ImageFailure): boolean {
  return failure.failureCode === IMAGE_REFERENCED_BY_MANIFEST_LIST;
}

/** The failures that fail the event: all but ImageNotFound and the refusals a selection tolerated. */
export function blockingFailures(failures: readonly ImageFailure[], tolerated: ReadonlySet<ImageFailure>): ImageFailure[] {
  return failures.filter((failure) => failure.failureCode !== IMAGE_NOT_FOUND && !tolerated.has(failure));
}
