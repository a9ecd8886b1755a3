/** A semver version tag of a layer's tiles (TileJSON 3.0.0 `version`). */
export interface VersionTag {
  major: number;
  minor: number;
  patch: number;
}

/** The diff from this tag lists every tile of the target: what a mirror with nothing copies. */
export const EMPTY_VERSION = '0.0.0';

const SEMVER = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

/** Parses "1.2.0"; returns null for anything that is not a plain semver triple. */
export function parseVersionTag(text: string): VersionTag | null {
  const m = SEMVER.exec(text);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** Formats a version tag as "major.minor.patch". */
export function formatVersionTag(v: VersionTag): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** Orders version tags; negative when a < b. */
export function compareVersionTags(a: VersionTag, b: VersionTag): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** The kind of change a publish makes, which decides the next tag. */
export type VersionBump = 'major' | 'minor';

/**
 * The tag a new version gets. `highest` is the highest tag the layer ever had
 * (not the current one: after a rollback the next publish must not reuse a tag).
 */
export function nextVersionTag(highest: VersionTag | null, bump: VersionBump): VersionTag {
  if (!highest) return { major: 1, minor: 0, patch: 0 };
  if (bump === 'major') return { major: highest.major + 1, minor: 0, patch: 0 };
  return { major: highest.major, minor: highest.minor + 1, patch: 0 };
}
