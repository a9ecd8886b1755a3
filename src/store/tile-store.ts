import type { LayerStyle, VersionMeta } from '../domain/catalog.js';

/** A stored tile: its content hash (of the plain MVT bytes) and the gzip body. */
export interface StoredTile {
  hash: string;
  gz: Buffer;
}

/** A tile handed to a build, already encoded, hashed and gzipped. */
export interface TileRecord extends StoredTile {
  /** Size of the plain (uncompressed) MVT bytes. */
  plainSize: number;
  z: number;
  x: number;
  y: number;
}

/** Descriptive layer data kept with the store (so a mirror can serve it too). */
export interface LayerDescription {
  title: string;
  attribution: string;
  style: LayerStyle;
}

/** One version row of the catalog. */
export interface VersionRecord {
  vid: number;
  layer: string;
  version: string;
  state: 'live' | 'pruned';
  publishedAt: string;
  tiles: number;
  bytes: number;
  meta: VersionMeta;
}

/** One layer of the catalog with its versions, newest first. */
export interface LayerRecord extends LayerDescription {
  id: string;
  currentVid: number | null;
  versions: VersionRecord[];
}

/** A change of a layer's current version, as the change feed reports it. */
export interface ChangeEvent {
  seq: number;
  layer: string;
  version: string;
  previous: string | null;
  publishedAt: string;
  changedTiles: number;
  kind: 'publish' | 'rollback';
}

/** The outcome of committing a build. */
export type CommitResult =
  | { state: 'published'; version: string; previous: string | null; changedTiles: number; event: ChangeEvent }
  | { state: 'unchanged'; version: string };

/** A line of a version diff: a tile that is new or changed (with its hash) or deleted. */
export type DiffEntry = { z: number; x: number; y: number; hash: string } | { z: number; x: number; y: number; deleted: true };

/** A version being written; invisible to readers until commit. */
export interface VersionBuild {
  /** Adds a batch of tiles in one transaction. */
  putTiles(tiles: readonly TileRecord[]): void;
  /**
   * Makes the build the layer's current version in one transaction, or drops it
   * when every tile equals the current version's. `schemaKey` changes bump the major.
   */
  commit(meta: VersionMeta, schemaKey: string, description: LayerDescription): CommitResult;
  /** Drops everything the build wrote. */
  abort(): void;
}

/** The catalog and tile store. The SQLite implementation is the embedded default. */
export interface TileStore {
  listLayers(): LayerRecord[];
  getLayer(id: string): LayerRecord | null;
  /** The tile of a version, or null when the version has no tile there. */
  getTile(vid: number, z: number, x: number, y: number): StoredTile | null;
  beginBuild(layer: string): VersionBuild;
  /** Makes a live version current again; records an event. */
  rollback(layer: string, version: string): ChangeEvent;
  /** Streams the tiles that differ between two versions of a layer, in z/x/y order. */
  diff(fromVid: number, toVid: number): IterableIterator<DiffEntry>;
  /** Change events with seq > since, oldest first. */
  eventsSince(since: number, limit?: number): ChangeEvent[];
  /** Keeps `keep` live versions per layer (never the current one); returns the pruned tags. */
  prune(layer: string, keep: number): string[];
  /** A number that changes whenever another process commits to the store. */
  dataVersion(): number;
  close(): void;
}
