import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TileCoord } from '../domain/tile-coord.js';
import type { Resolution, CatalogCache } from '../store/catalog-cache.js';
import type { TileStore } from '../store/tile-store.js';
import { compositeTileAt, compositeVersionLabel } from './composite.js';
import type { Metrics } from './metrics.js';
import type { CachedTile, TileCache } from './tile-cache.js';
import { IMMUTABLE, writeTile } from './tile-response.js';

/** A (layer, version) the catalog resolved. */
export type Resolved = Extract<Resolution, { kind: 'ok' }>;

/** What serving tiles needs. */
export interface TileServiceDeps {
  store: TileStore;
  catalog: CatalogCache;
  cache: TileCache;
  metrics: Metrics | null;
  /** max-age of current (unversioned) tiles, seconds. */
  currentMaxAge: number;
}

/** Reads tiles through the hot-tile cache and writes tile responses; shared by the fast path and the router. */
export class TileService {
  /** Cache-Control of a current (unversioned) URL. */
  readonly currentCacheControl: string;

  constructor(readonly deps: TileServiceDeps) {
    this.currentCacheControl = `public, max-age=${deps.currentMaxAge}`;
  }

  /** The tile of a version: from memory, else one prepared statement (whose answer is then remembered). */
  tileAt(vid: number, z: number, x: number, y: number): CachedTile | null {
    const key = `${vid}/${z}/${x}/${y}`;
    const hit = this.deps.cache.get(key);
    if (hit !== undefined) return hit;
    const stored = this.deps.store.getTile(vid, z, x, y);
    return this.deps.cache.set(key, stored?.hash ?? null, stored?.gz ?? null);
  }

  /** True when z lies in the version's zoom range. */
  static inRange(r: Resolved, z: number): boolean {
    return z >= r.version.meta.minzoom && z <= r.version.meta.maxzoom;
  }

  /**
   * Serves one layer's tile; `pinned` = the URL named the version. The zoom must be in range.
   * `headers` (name, value …) are sent first: the fast path's request id and CORS headers.
   */
  serveTile(req: IncomingMessage, res: ServerResponse, r: Resolved, c: TileCoord, pinned: boolean, headers?: (string | number)[]): void {
    const tile = this.tileAt(r.version.vid, c.z, c.x, c.y);
    const sent = writeTile(req, res, tile, pinned ? IMMUTABLE : this.currentCacheControl, r.version.version, this.deps.cache, headers);
    if (sent > 0) this.deps.metrics?.tileServed(r.layer.id, 'tile', sent);
  }

  /** Serves the concatenated tiles of several layers; `pinned` = every layer's version was named. */
  serveComposite(
    req: IncomingMessage, res: ServerResponse, parts: readonly Resolved[], c: TileCoord, pinned: boolean, headers?: (string | number)[],
  ): void {
    const { tile, layers } = compositeTileAt(this, parts, c);
    const sent = writeTile(req, res, tile, pinned ? IMMUTABLE : this.currentCacheControl, compositeVersionLabel(parts), this.deps.cache, headers);
    if (sent > 0) layers.forEach((layer, i) => this.deps.metrics?.tileServed(layer, 'composite', i === 0 ? sent : 0));
  }
}
