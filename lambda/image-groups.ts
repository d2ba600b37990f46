/**
 * Image groups: which manifests of a listing make one image as users see it,
 * the unit the rule engine (rules.ts) ranks, ages and expires. Pure: the
 * caller gives what the manifests it read say.
 *
 * - A top-level image is a manifest that no listed index references and that
 *   is not a referrer: an image index (or manifest list) that no other index
 *   lists, or a single-platform image pushed on its own.
 * - A referrer is an untagged image manifest that no index lists, whose
 *   `subject` (OCI 1.1: cosign and notation signatures, SBOMs, attestations)
 *   names a listed manifest, as far as the caller knows (`subjectOf`: the
 *   caller reads subjects only when a rule may select untagged images). A
 *   tagged manifest is never one: the user named it.
 * - The group of a top-level image is the image, everything it references
 *   (through nested indexes), and the referrers of any of those, in turn.
 *   A manifest that two top-level images reach (a platform image two indexes
 *   share, the signature of such a manifest) is in both groups.
 * - The image's digest and push time are its top-level manifest's (the
 *   index's): "an index and what only it references count as one image for
 *   ranking and age". Its tags are those of every manifest of its group:
 *   a tag on a per-architecture image selects, or protects, the whole image,
 *   and a group that holds any tag is not untagged.
 * - A manifest that no top-level image reaches (only a cycle of references
 *   or subjects could do that, which content addressing rules out) is in no
 *   group: no rule decides anything for it, and it stays.
 */
import type { TopLevelImage } from './rules';

/** One manifest of the listing, as the grouping needs it. */
export interface GroupedManifest {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly pushedAt: number;
}

/** What is known of the manifests' links: what an index references, and the subject of a referrer. */
export interface ManifestLinks {
  /** The listed digests an index references directly; empty for an image manifest. */
  readonly referencesOf: (digest: string) => readonly string[];
  /** The listed digest a referrer's `subject` names; undefined for anything else (a tagged manifest, an index, an image that signs nothing). */
  readonly subjectOf: (digest: string) => string | undefined;
}

export interface ImageGroups {
  /**
   * The top-level images, in the order of the listing: the engine's input. A
   * manifest that is an image on its own is given as it came (no copy).
   */
  readonly images: readonly TopLevelImage[];
  /** The digests of a top-level image's group, the top-level manifest first. */
  readonly membersOf: (top: string) => readonly string[];
  /** The groups (top-level digests) a manifest belongs to: itself when top-level; none for a manifest in no group. */
  readonly groupsOf: (digest: string) => readonly string[];
  /** For each manifest that is not top-level, what holds it: the listed indexes that reference it, or its subject. */
  readonly holders: ReadonlyMap<string, readonly string[]>;
}

/** Groups a listing into images as users see them. */
export function groupImages(listing: readonly GroupedManifest[], links: ManifestLinks): ImageGroups {
  const listed = new Map(listing.map((manifest) => [manifest.digest, manifest]));
  const holders = new Map<string, string[]>();
  const hold = (held: string, by: string) => {
    if (held === by || !listed.has(held) || !listed.has(by)) return;
    const list = holders.get(held);
    if (list === undefined) holders.set(held, [by]);
    else if (!list.includes(by)) list.push(by);
  };
  for (const manifest of listing) for (const child of links.referencesOf(manifest.digest)) hold(child, manifest.digest);
  for (const manifest of listing) {
    // A manifest an index references is that index's, whatever it signs.
    if (manifest.tags.length > 0 || holders.has(manifest.digest)) continue;
    const subject = links.subjectOf(manifest.digest);
    if (subject !== undefined) hold(manifest.digest, subject);
  }

  // The groups of each held manifest: those of whatever holds it (a top-level holder is its own group). Iterative,
  // with a guard against cycles (a manifest on one belongs to no group through it). A top-level manifest is not stored.
  const groups = new Map<string, readonly string[]>();
  const visiting = new Set<string>();
  const groupsOfHeld = (start: string): readonly string[] => {
    const stack: string[] = [start];
    while (stack.length > 0) {
      const digest = stack[stack.length - 1];
      if (groups.has(digest)) {
        stack.pop();
        continue;
      }
      const by = holders.get(digest) as string[];
      const pending = by.filter((holder) => holders.has(holder) && !groups.has(holder) && !visiting.has(holder));
      if (pending.length > 0 && !visiting.has(digest)) {
        visiting.add(digest);
        stack.push(...pending);
        continue;
      }
      visiting.delete(digest);
      const union = new Set<string>();
      for (const holder of by) {
        if (!holders.has(holder)) union.add(holder);
        else for (const group of groups.get(holder) ?? []) union.add(group);
      }
      groups.set(digest, [...union]);
      stack.pop();
    }
    return groups.get(start) as readonly string[];
  };

  const members = new Map<string, string[]>();
  for (const manifest of listing) {
    if (!holders.has(manifest.digest)) continue;
    for (const group of groupsOfHeld(manifest.digest)) {
      const list = members.get(group);
      if (list === undefined) members.set(group, [group, manifest.digest]);
      else list.push(manifest.digest);
    }
  }
  const images = listing
    .filter((manifest) => !holders.has(manifest.digest))
    .map((head): TopLevelImage => {
      const group = members.get(head.digest);
      if (group === undefined) return head;
      const tags = new Set<string>();
      for (const digest of group) for (const tag of (listed.get(digest) as GroupedManifest).tags) tags.add(tag);
      return { digest: head.digest, tags: [...tags], pushedAt: head.pushedAt };
    });
  return {
    images,
    membersOf: (top) => members.get(top) ?? (listed.has(top) && !holders.has(top) ? [top] : []),
    groupsOf: (digest) => (!listed.has(digest) ? [] : holders.has(digest) ? groupsOfHeld(digest) : [digest]),
    holders,
  };
}
