import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { TileCoord } from '../domain/tile-coord.js';
import type { CachedTile } from './tile-cache.js';
import type { Resolved, TileService } from './tile-service.js';

/** `a@1.2.0,b@3.0.0`: the X-Tile-Version of a composite and the spec of its pinned URL. */
export function compositeVersionLabel(parts: readonly Resolved[]): string {
  return parts.map((p) => `${p.layer.id}@${p.version.version}`).join(',');
}

/**
 * The composite tile of several layers at z/x/y. An MVT is a list of layers, so
 * concatenated tiles are a valid tile holding each layer; layers outside their
 * zoom range or without data there add nothing. With one contributor its own
 * body (and ETag) is served; with several, the plain bodies are concatenated and
 * gzipped once, cached under a hash of the component hashes (the ETag).
 */
export function compositeTileAt(service: TileService, parts: readonly Resolved[], c: TileCoord): { tile: CachedTile | null; layers: string[] } {
  const cache = service.deps.cache;
  const found: CachedTile[] = [];
  const layers: string[] = [];
  for (const p of parts) {
    if (c.z < p.version.meta.minzoom || c.z > p.version.meta.maxzoom) continue;
    const tile = service.tileAt(p.version.vid, c.z, c.x, c.y);
    if (tile) {
      found.push(tile);
      layers.push(p.layer.id);
    }
  }
  if (found.length <= 1) return { tile: found[0] ?? null, layers };
  const key = `c${parts.map((p) => p.version.vid).join(',')}/${c.z}/${c.x}/${c.y}`;
  const hit = cache.get(key);
  if (hit) return { tile: hit, layers };
  const hash = createHash('sha256').update(found.map((t) => t.hash).join('+')).digest('hex').slice(0, 32);
  const gz = gzipSync(Buffer.concat(found.map((t) => cache.plainOf(t))));
  return { tile: cache.set(key, hash, gz), layers };
}

/** TileJSON 3.0.0 of a composite: every layer pinned to the version resolved now, every vector layer listed. */
export function buildCompositeTileJson(baseUrl: string, parts: readonly Resolved[]): Record<string, unknown> {
  const metas = parts.map((p) => p.version.meta);
  const bounds: [number, number, number, number] = [
    Math.min(...metas.map((m) => m.bounds[0])), Math.min(...metas.map((m) => m.bounds[1])),
    Math.max(...metas.map((m) => m.bounds[2])), Math.max(...metas.map((m) => m.bounds[3])),
  ];
  const minzoom = Math.min(...metas.map((m) => m.minzoom));
  const maxzoom = Math.max(...metas.map((m) => m.maxzoom));
  const first = metas[0];
  return {
    tilejson: '3.0.0',
    name: parts.map((p) => p.layer.title).join(' + '),
    description: `composite of ${compositeVersionLabel(parts)}`,
    attribution: [...new Set(parts.map((p) => p.layer.attribution).filter((a) => a))].join(' · '),
    scheme: 'xyz',
    tiles: [`${baseUrl}/tiles/${compositeVersionLabel(parts)}/{z}/{x}/{y}.mvt`],
    minzoom,
    maxzoom,
    bounds,
    center: first ? [first.center[0], first.center[1], Math.min(maxzoom, Math.max(minzoom, first.center[2]))] : undefined,
    vector_layers: parts.map((p) => ({
      id: p.version.meta.vectorLayer, description: p.layer.title, minzoom: p.version.meta.minzoom, maxzoom: p.version.meta.maxzoom, fields: p.version.meta.fields,
    })),
    'plantiles:versions': Object.fromEntries(parts.map((p) => [p.layer.id, p.version.version])),
  };
}
