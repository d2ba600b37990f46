import { Duration, Token, aws_ecr as ecr } from 'aws-cdk-lib';
import { WireSelection } from './contract';
import { renderLifecycleRules } from './lifecycle-rules';

/**
 * Which images of a repository to delete, by rule rather than by ID.
 *
 * Start from `ImageSelection.allImages()`, `ImageSelection.untaggedImages()`
 * or `ImageSelection.tagsMatching()`, then narrow it down: every condition
 * must hold. The handler lists the repository (DescribeImages) when the event
 * runs and evaluates the selection on that listing.
 *
 * A selection decides on images as users see them: the handler reads the
 * manifests of the repository's image indexes from the public registry, and a
 * multi-architecture image (an index with what it references, and their
 * signatures) counts as one image, with the index's push time and the tags
 * of all its manifests. It goes or stays whole, whatever ECR Public does:
 * nothing a kept index references is deleted, directly or through nested
 * indexes, and an index that goes is deleted before what it references. When
 * a manifest cannot be read, nothing is deleted and the event reports how
 * many images it kept (`keptUnknownCount`). Every selection, lifecycle
 * policies included, is decided by the same rule engine; `ruleCountsJson`
 * says how many images each rule expired.
 *
 * @example
 * import { Duration } from 'aws-cdk-lib';
 *
 * // Pull-request images older than a week, except the newest 5.
 * const stalePrImages = ImageSelection.tagsMatching('pr-*').olderThan(Duration.days(7)).keepNewest(5);
 */
export class ImageSelection {
  /**
   * Every image in the repository, deleted by digest (with all its tags).
   * Narrow it with `protectTags()` to keep releases.
   */
  public static allImages(): ImageSelection {
    return new ImageSelection({ Match: 'all' });
  }

  /**
   * Images without any tag, deleted by digest. With modern `docker buildx`,
   * most untagged manifests are the platform images and attestations of a
   * tagged multi-architecture index: they are part of a tagged image, and
   * stay as long as it does (the handler reads the index's manifest to know
   * them). A multi-architecture image none of whose manifests is tagged goes
   * whole, its index first.
   */
  public static untaggedImages(): ImageSelection {
    return new ImageSelection({ Match: 'untagged' });
  }

  /**
   * The tags that match any of the glob patterns (`*` any run of characters,
   * `?` one character), removed by tag: an image keeps its other tags, and is
   * deleted only when every tag it had matched. A multi-architecture image
   * whose last tag goes is deleted whole: its index, with the untagged
   * platform images and attestations the index lists.
   *
   * @param patterns one or more tag patterns, e.g. `pr-*`
   */
  public static tagsMatching(...patterns: string[]): ImageSelection {
    return new ImageSelection({ Match: 'tagged', TagPatterns: patterns });
  }

  /**
   * A lifecycle policy of private ECR, given as aws-cdk-lib's own lifecycle
   * rules (what `ecr.Repository` takes as `lifecycleRules`), with the meaning
   * they have on private ECR: each image expires by at most one rule, the
   * first (lowest priority number) that selects it by its tags decides, and
   * every rule ranks and ages the whole repository. A multi-architecture
   * image (an image index with what it references) counts as one image, and
   * goes or stays whole (private ECR ranks each manifest apart, and refuses
   * to expire one that a manifest list references). Each run says which rule
   * expired each image (the function log) and how many each rule expired
   * (`ruleCountsJson`), like `get-lifecycle-policy-preview`.
   *
   * Defaults and priorities are aws-cdk-lib's: a rule with `tagPrefixList`
   * or `tagPatternList` is `TagStatus.TAGGED`, one without is
   * `TagStatus.ANY`; rules without `rulePriority` are numbered on from the
   * highest one given, and the `TagStatus.ANY` rule comes last. The policy
   * is written at synth time, exactly as aws-cdk-lib writes it for a private
   * repository, and checked as private ECR checks it (docs/lifecycle-policies.md).
   *
   * @example
   * import { Duration, aws_ecr as ecr, aws_events as events } from 'aws-cdk-lib';
   *
   * // The rules of a private repository's policy, brought unchanged to a public one.
   * const lifecycleRules: ecr.LifecycleRule[] = [
   *   { rulePriority: 1, description: 'Keep the 10 newest releases', tagPatternList: ['v*'], maxImageCount: 10 },
   *   { description: 'Untagged images go after a week', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(7) },
   *   { description: 'At most 100 images in all', maxImageCount: 100 }, // TagStatus.ANY: last
   * ];
   * new EcrPublicImageDeletion(this, 'Lifecycle', {
   *   repositoryName: repo.ref,
   *   select: ImageSelection.fromLifecycleRules(lifecycleRules),
   *   schedule: events.Schedule.rate(Duration.days(1)),
   * });
   *
   * @param rules the rules, as `ecr.Repository`'s `lifecycleRules` takes them
   * @throws when aws-cdk-lib would refuse a rule, or a rule holds a token (the policy is written at synth time)
   */
  public static fromLifecycleRules(rules: ecr.LifecycleRule[]): ImageSelection {
    return new ImageSelection({ Match: 'lifecycle', LifecyclePolicyText: renderLifecycleRules(rules) });
  }

  /**
   * A lifecycle policy of private ECR, given as the JSON document that
   * `aws ecr put-lifecycle-policy` takes (`--lifecycle-policy-text`), with the
   * meaning it has on private ECR (see `fromLifecycleRules`). ECR Public
   * cannot honour `sinceImagePulled`, `sinceImageTransitioned`, the `archive`
   * storage class or the `transition` action: a policy with one is refused.
   *
   * Known at synth time, the policy is checked then, and travels without
   * whitespace. A token (a policy known at deploy time only) is checked by
   * the handler before any call, and cannot go with a `schedule`.
   *
   * @example
   * // The document `aws ecr put-lifecycle-policy` takes, e.g. read from a file of the app.
   * const policyText =
   *   '{"rules": [{"rulePriority": 1, "description": "Expire untagged images older than 14 days", ' +
   *   '"selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14}, ' +
   *   '"action": {"type": "expire"}}]}';
   * new EcrPublicImageDeletion(this, 'Policy', {
   *   repositoryName: repo.ref,
   *   select: ImageSelection.fromLifecyclePolicyText(policyText),
   * });
   *
   * @param text the policy's JSON text
   */
  public static fromLifecyclePolicyText(text: string): ImageSelection {
    return new ImageSelection({ Match: 'lifecycle', LifecyclePolicyText: compactJson(text) });
  }

  private constructor(private readonly wire: WireSelection) {}

  /**
   * Only images pushed longer ago than `age` (measured when the event runs).
   *
   * @param age at least one second, in whole seconds
   */
  public olderThan(age: Duration): ImageSelection {
    return new ImageSelection({ ...this.wire, OlderThanSeconds: secondsText(age) });
  }

  /**
   * Of the images that match, the newest `count` (by push time) are kept.
   * Images are counted as users see them: a multi-architecture image (an
   * image index with what it references) counts once, as does an image that
   * no index references.
   *
   * @param count at least 1
   */
  public keepNewest(count: number): ImageSelection {
    return new ImageSelection({ ...this.wire, KeepNewest: numberText(count) });
  }

  /**
   * Tags that are never deleted whatever the selection: an image with a tag
   * that matches any of these glob patterns is left alone, every tag of it.
   *
   * @param patterns one or more tag patterns, e.g. `latest`, `v*`
   */
  public protectTags(...patterns: string[]): ImageSelection {
    return new ImageSelection({ ...this.wire, ProtectTags: [...(this.wire.ProtectTags ?? []), ...patterns] });
  }

  /**
   * The selection as the handler reads it.
   *
   * @internal
   */
  public _toWire(): WireSelection {
    return this.wire;
  }
}

/**
 * JSON text without whitespace, so that it takes less room in the template
 * and in a schedule's event; text that is not JSON (validation then says so)
 * and tokens are passed on as given.
 */
function compactJson(text: string): string {
  if (typeof text !== 'string' || Token.isUnresolved(text)) return text;
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

/**
 * A duration in seconds, as text. A duration of a known amount is converted
 * through milliseconds, which never throws: a fraction of a second becomes
 * "0.5", which validation refuses with the construct's path and the rule.
 */
function secondsText(age: Duration): string {
  return age.isUnresolved() ? numberText(age.toSeconds()) : String(age.toMilliseconds({ integral: false }) / 1000);
}

/** A number as CloudFormation passes it to the handler: text (a token stays a token). */
function numberText(value: number): string {
  return Token.isUnresolved(value) ? Token.asString(value) : String(value);
}
