/**
 * Select: which images of a listing a selection deletes, without any I/O.
 *
 * - `all` and `untagged` delete whole images, by digest.
 * - `tagged` removes the tags that match its patterns, by tag: an image keeps
 *   its other tags, and goes only when every tag it had matched.
 * - `OlderThanSeconds` keeps images pushed more recently than that.
 * - `KeepNewest` keeps the newest N top-level images of those that match: an
 *   image index with everything it references, or an image that no index
 *   references (ties on the push time broken by digest, so that the choice is
 *   the same on every run).
 * - An image with a tag that matches `ProtectTags` is never touched.
 *
 * Multi-architecture images are kept whole by construction, whatever ECR
 * Public would do: every image that an index this event keeps references,
 * directly or through nested indexes, is left out of the deletions (no delete
 * by digest, no removal of its last tags). The references come from the
 * indexes' manifests, which the caller reads from the registry: the result's
 * `needs` lists the ones it has not given yet, and the caller calls again with
 * them. Until every needed manifest is known, and whenever one could not be
 * read, the decision fails closed: no deletion that removes an image is made.
 *
 * Deletions come in two passes: image indexes (and tag removals of indexes)
 * first, so that a server that refuses to delete an image an index still
 * references (ImageReferencedByManifestList) can delete the orphaned
 * children in the second pass.
 */
import type { WireImageId, WireSelection } from '../lib/contract';
import type { ListedImage } from './list';
/** Manifest media types that reference other manifests. */
export declare const INDEX_MEDIA_TYPES: readonly string[];
/** What the registry said about one index's manifest: the digests it references, or why they are unknown. */
export type ReferenceRead = {
    readonly references: readonly string[];
} | {
    readonly unknown: string;
};
/** Index digest -> what its manifest references. */
export type References = ReadonlyMap<string, ReferenceRead>;
export interface SelectionResult {
    /** Image IDs to delete, pass by pass: indexes and tag removals first, then other images. */
    readonly passes: WireImageId[][];
    /** Images that met every condition before keepNewest. */
    readonly matched: number;
    /** Top-level images kept by keepNewest (an index counts once, with what it references). */
    readonly keptNewest: number;
    /** Images kept because a tag of theirs is protected. */
    readonly keptProtected: number;
    /** Images the selection covered but kept, because an index this event keeps references them. */
    readonly keptReferenced: number;
    /** Images the selection covered but kept, because the manifest of an index could not be read. */
    readonly keptUnknown: number;
    /** Index digests whose manifests the decision needs and `references` lacks; read them and select again. */
    readonly needs: string[];
    /** Indexes whose references could not be read, with the cause. */
    readonly unknown: ReadonlyArray<{
        readonly digest: string;
        readonly cause: string;
    }>;
    /** For each image a kept index references: the first such index found. */
    readonly referencedBy: ReadonlyMap<string, string>;
}
/** Compiles glob patterns (`*` any run of characters, `?` one character) into one test. */
export declare function globMatcher(patterns: readonly string[]): (tag: string) => boolean;
/** Whether an image is an image index or manifest list (it references other images). */
export declare const isIndex: (image: Pick<ListedImage, "mediaType">) => boolean;
export declare function selectImages(listing: readonly ListedImage[], selection: WireSelection, nowMs: number, references?: References): SelectionResult;
