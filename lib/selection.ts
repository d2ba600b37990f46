import { Duration, Token } from 'aws-cdk-lib';
import { WireSelection } from './contract';

/**
 * Which images of a repository to delete, by rule rather than by ID.
 *
 * Start from `ImageSelection.allImages()`, `ImageSelection.untaggedImages()`
 * or `ImageSelection.tagsMatching()`, then narrow it down: every condition
 * must hold. The handler lists the repository (DescribeImages) when the event
 * runs and evaluates the selection on that listing.
 *
 * Multi-architecture images are kept whole, whatever ECR Public does: before
 * deleting, the handler reads the manifests of the image indexes the event
 * keeps from the public registry, and deletes nothing they reference,
 * directly or through nested indexes. When a manifest cannot be read, the
 * images it might reference are kept and the event reports how many
 * (`keptUnknownCount`). Image indexes that go are deleted before the images
 * they reference, which then go too if the selection covers them.
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
   * most untagged images are the platform images and attestations of a tagged
   * multi-architecture index: those stay as long as their index does (the
   * handler reads the index's manifest to know them).
   */
  public static untaggedImages(): ImageSelection {
    return new ImageSelection({ Match: 'untagged' });
  }

  /**
   * The tags that match any of the glob patterns (`*` any run of characters,
   * `?` one character), removed by tag: an image keeps its other tags, and is
   * deleted only when every tag it had matched.
   *
   * @param patterns one or more tag patterns, e.g. `pr-*`
   */
  public static tagsMatching(...patterns: string[]): ImageSelection {
    return new ImageSelection({ Match: 'tagged', TagPatterns: patterns });
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
