import { isLayerId } from './layer-id.js';
import { parseTileCoord, type TileCoord } from './tile-coord.js';
import { parseVersionTag } from './version-tag.js';

/** A layer named in a URL, with its version (null = the current version). */
export interface LayerSpec {
  layer: string;
  version: string | null;
}

/**
 * A request under /tiles/, parsed. `version` null means the current version.
 * `a,b` (a composite) names several layers whose tiles are served concatenated.
 */
export type TilePath =
  | { kind: 'tilejson'; layer: string; version: string | null }
  | { kind: 'tile'; layer: string; version: string | null; coord: TileCoord }
  | { kind: 'diff'; layer: string; version: string; from: string }
  | { kind: 'composite-tilejson'; layers: LayerSpec[] }
  | { kind: 'composite-tile'; layers: LayerSpec[]; coord: TileCoord };

/** The most layers one composite URL may name. */
export const MAX_COMPOSITE_LAYERS = 16;

/** A malformed path under /tiles/; maps to 400. */
export class TilePathError extends Error {
  override readonly name = 'TilePathError';
}

/**
 * Parses the part of a URL after "/tiles/" as it came (percent-encoded): each segment is
 * decoded on its own (%40 is "@", %2C ","), so an encoded slash stays inside its segment
 * and is refused, rather than splitting the path where the client did not. Throws URIError
 * on a malformed escape.
 */
export function parseEncodedTilePath(raw: string): TilePath {
  if (!raw.includes('%')) return parseTilePath(raw);
  const segments = raw.split('/').map(decodeURIComponent);
  if (segments.some((s) => s.includes('/'))) throw new TilePathError('an encoded slash (%2F) is not a path separator: write / itself');
  return parseTilePath(segments.join('/'));
}

/** Parses the part of a URL after "/tiles/" (already percent-decoded, so %40 is "@"). */
export function parseTilePath(rest: string): TilePath {
  const parts = rest.split('/');
  const [first, ...others] = parts;
  if (first === undefined || first === '') throw new TilePathError('missing layer');
  if (others.length === 0) {
    if (!first.endsWith('.json')) throw new TilePathError('expected {layer}.json or {layer}/{z}/{x}/{y}.mvt');
    const spec = first.slice(0, -'.json'.length);
    if (spec.includes(',')) return { kind: 'composite-tilejson', layers: parseCompositeSpec(spec) };
    return { kind: 'tilejson', ...parseLayerSpec(spec) };
  }
  if (others.length === 2 && others[0] === 'diff') {
    if (first.includes(',')) throw new TilePathError('a diff names one layer: {layer}@{to}/diff/{from}');
    const spec = parseLayerSpec(first);
    const from = others[1] ?? '';
    if (spec.version === null) throw new TilePathError('a diff needs a target version: {layer}@{to}/diff/{from}');
    if (!parseVersionTag(from)) throw new TilePathError(`"${from.slice(0, 40)}" is not a version tag like 1.2.0`);
    return { kind: 'diff', layer: spec.layer, version: spec.version, from };
  }
  if (others.length === 3) {
    const [z, x, yExt] = others as [string, string, string];
    const m = /^(.*)\.(mvt|pbf)$/.exec(yExt);
    if (!m) throw new TilePathError('tile URLs end in .mvt or .pbf');
    if (first.includes(',')) return { kind: 'composite-tile', layers: parseCompositeSpec(first), coord: parseTileCoord(z, x, m[1] ?? '') };
    const spec = parseLayerSpec(first);
    return { kind: 'tile', ...spec, coord: parseTileCoord(z, x, m[1] ?? '') };
  }
  throw new TilePathError('expected {layer}.json, {layer}/{z}/{x}/{y}.mvt or {layer}@{to}/diff/{from}');
}

/** Splits "layer" or "layer@1.2.0", checking both parts. */
export function parseLayerSpec(spec: string): LayerSpec {
  const at = spec.indexOf('@');
  const layer = at < 0 ? spec : spec.slice(0, at);
  const version = at < 0 ? null : spec.slice(at + 1);
  if (!isLayerId(layer)) throw new TilePathError(`"${layer.slice(0, 80)}" is not a valid layer id`);
  if (version !== null && !parseVersionTag(version)) throw new TilePathError(`"${version.slice(0, 40)}" is not a version tag like 1.2.0`);
  return { layer, version };
}

/** Splits "a,b@1.0.0": each part a layer spec, at least two, no layer twice. */
export function parseCompositeSpec(spec: string): LayerSpec[] {
  const parts = spec.split(',');
  if (parts.length > MAX_COMPOSITE_LAYERS) throw new TilePathError(`a composite names at most ${MAX_COMPOSITE_LAYERS} layers`);
  const layers = parts.map(parseLayerSpec);
  const seen = new Set<string>();
  for (const l of layers) {
    if (seen.has(l.layer)) throw new TilePathError(`layer "${l.layer}" is named twice in the composite`);
    seen.add(l.layer);
  }
  return layers;
}

/** The URL spec of a layer list: "a@1.0.0,b@2.1.0" (versions omitted where null). */
export function formatCompositeSpec(layers: readonly LayerSpec[]): string {
  return layers.map((l) => (l.version === null ? l.layer : `${l.layer}@${l.version}`)).join(',');
}
