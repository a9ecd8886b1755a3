import { isLayerId } from './layer-id.js';
import { parseTileCoord, type TileCoord } from './tile-coord.js';
import { parseVersionTag } from './version-tag.js';

/** A request under /tiles/, parsed. `version` null means the current version. */
export type TilePath =
  | { kind: 'tilejson'; layer: string; version: string | null }
  | { kind: 'tile'; layer: string; version: string | null; coord: TileCoord }
  | { kind: 'diff'; layer: string; version: string; from: string };

/** A malformed path under /tiles/; maps to 400. */
export class TilePathError extends Error {
  override readonly name = 'TilePathError';
}

/** Parses the part of a URL after "/tiles/" (already percent-decoded, so %40 is "@"). */
export function parseTilePath(rest: string): TilePath {
  const parts = rest.split('/');
  const [first, ...others] = parts;
  if (first === undefined || first === '') throw new TilePathError('missing layer');
  if (others.length === 0) {
    if (!first.endsWith('.json')) throw new TilePathError('expected {layer}.json or {layer}/{z}/{x}/{y}.mvt');
    return { kind: 'tilejson', ...parseLayerSpec(first.slice(0, -'.json'.length)) };
  }
  if (others.length === 2 && others[0] === 'diff') {
    const spec = parseLayerSpec(first);
    const from = others[1] ?? '';
    if (spec.version === null) throw new TilePathError('a diff needs a target version: {layer}@{to}/diff/{from}');
    if (!parseVersionTag(from)) throw new TilePathError(`"${from}" is not a version tag like 1.2.0`);
    return { kind: 'diff', layer: spec.layer, version: spec.version, from };
  }
  if (others.length === 3) {
    const spec = parseLayerSpec(first);
    const [z, x, yExt] = others as [string, string, string];
    const m = /^(.*)\.(mvt|pbf)$/.exec(yExt);
    if (!m) throw new TilePathError('tile URLs end in .mvt or .pbf');
    return { kind: 'tile', ...spec, coord: parseTileCoord(z, x, m[1] ?? '') };
  }
  throw new TilePathError('expected {layer}.json, {layer}/{z}/{x}/{y}.mvt or {layer}@{to}/diff/{from}');
}

/** Splits "layer" or "layer@1.2.0", checking both parts. */
export function parseLayerSpec(spec: string): { layer: string; version: string | null } {
  const at = spec.indexOf('@');
  const layer = at < 0 ? spec : spec.slice(0, at);
  const version = at < 0 ? null : spec.slice(at + 1);
  if (!isLayerId(layer)) throw new TilePathError(`"${layer.slice(0, 80)}" is not a valid layer id`);
  if (version !== null && !parseVersionTag(version)) throw new TilePathError(`"${version.slice(0, 40)}" is not a version tag like 1.2.0`);
  return { layer, version };
}
