import type { LayerInfo } from '../domain/catalog.js';
import type { LayerRecord, TileStore, VersionRecord } from './tile-store.js';

/** How a (layer, version) request resolves against the catalog. */
export type Resolution =
  | { kind: 'ok'; layer: LayerRecord; version: VersionRecord; current: boolean }
  | { kind: 'unknown-layer' }
  | { kind: 'unknown-version' }
  | { kind: 'pruned-version' };

/**
 * An in-memory snapshot of the catalog, so a tile request costs no catalog query.
 * It reloads when the store's data version moves (a commit by any process).
 */
export class CatalogCache {
  private layers = new Map<string, LayerRecord>();
  private seenDataVersion = -1;

  constructor(private readonly store: TileStore) {
    this.reload();
  }

  /** Reloads when another connection committed since the last look; true when it did. */
  refreshIfChanged(): boolean {
    const dv = this.store.dataVersion();
    if (dv === this.seenDataVersion) return false;
    this.reload();
    return true;
  }

  /** Reloads unconditionally (after this process's own writes). */
  reload(): void {
    this.seenDataVersion = this.store.dataVersion();
    const next = new Map<string, LayerRecord>();
    for (const layer of this.store.listLayers()) next.set(layer.id, layer);
    this.layers = next;
  }

  /** Every layer, sorted by id. */
  list(): LayerRecord[] {
    return [...this.layers.values()];
  }

  get(id: string): LayerRecord | undefined {
    return this.layers.get(id);
  }

  /** Resolves a layer and a version tag (null = the current version). */
  resolve(layerId: string, version: string | null): Resolution {
    const layer = this.layers.get(layerId);
    if (!layer || layer.currentVid === null) return { kind: 'unknown-layer' };
    const record = version === null
      ? layer.versions.find((v) => v.vid === layer.currentVid)
      : layer.versions.find((v) => v.version === version);
    if (!record) return version === null ? { kind: 'unknown-layer' } : { kind: 'unknown-version' };
    if (record.state === 'pruned') return { kind: 'pruned-version' };
    return { kind: 'ok', layer, version: record, current: record.vid === layer.currentVid };
  }
}

/** The catalog's view of a layer as the style builder and viewer use it. */
export function toLayerInfo(layer: LayerRecord): LayerInfo {
  const current = layer.versions.find((v) => v.vid === layer.currentVid) ?? null;
  return {
    id: layer.id,
    title: layer.title,
    attribution: layer.attribution,
    style: layer.style,
    current: current?.version ?? null,
    currentMeta: current?.meta ?? null,
    versions: layer.versions.map((v) => ({ version: v.version, publishedAt: v.publishedAt, tiles: v.tiles, bytes: v.bytes, state: v.state })),
  };
}
