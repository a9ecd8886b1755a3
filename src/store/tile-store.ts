import type { LayerStyle, VersionMeta } from '../domain/catalog.js';

/** A stored tile: its content hash (of the plain MVT bytes) and the gzip body. */
export interface StoredTile {
  hash: string;
  gz: Buffer;
}

/** A stored tile with its address, as an export reads a whole version. */
export interface StoredTileAt extends StoredTile {
  z: number;
  x: number;
  y: number;
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
  /** Node id the layer is mirrored from; null when it is published here. A mirrored layer is read-only. */
  origin: string | null;
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

/** A tile's address. */
export interface TileAddress {
  z: number;
  x: number;
  y: number;
}

/** Per-feature fingerprints of a version, packed by the pipeline (opaque to the store). */
export interface FeatureSet {
  /** The tiling options they were cut with; a republish with other options rebuilds in full. */
  tilingKey: string;
  count: number;
  data: Uint8Array;
  /** As read back: the part written after the tiles (see appendFeatureSet), which follows `data`; absent when there is none. */
  tail?: Uint8Array;
}

/** A tile named by its content hash only: its blob is already in the store, or staged by a mirror. */
export interface TileRef {
  z: number;
  x: number;
  y: number;
  hash: string;
}

/** A fetched blob a mirror keeps until its version commits. */
export interface StagedBlob {
  hash: string;
  gz: Buffer;
  plainSize: number;
}

/** How a mirror's build differs from a local one: it keeps the upstream's tag and time, and records the origin. */
export interface ImportOptions {
  version: string;
  publishedAt: string;
  /** Node id the layer comes from. */
  origin: string;
  /** The upstream's totals for the version; the commit refuses to switch when the build differs. */
  expect?: { tiles: number; bytes: number };
}

/** A version being written; invisible to readers until commit. */
export interface VersionBuild {
  /** Adds a batch of tiles in one transaction. */
  putTiles(tiles: readonly TileRecord[]): void;
  /** Adds a batch of tiles by hash (their blobs must be stored or staged) in one transaction. */
  putTileRefs(refs: readonly TileRef[]): void;
  /** Copies every tile of version `fromVid` except `except` (recomputed by the caller); returns how many. */
  carryOver(fromVid: number, except: readonly TileAddress[]): number;
  /**
   * Keeps the per-feature fingerprints of this build (they become the version's when it
   * commits). A set may come in two parts: `set` (written while tiles are still being
   * cut), then `appendFeatureSet` with the rest; readers get the two as one.
   */
  putFeatureSet(set: FeatureSet): void;
  /** Adds the rest of the build's feature set, after putFeatureSet. */
  appendFeatureSet(tail: Uint8Array): void;
  /**
   * Makes the build the layer's current version in one transaction, or drops it
   * when every tile equals the current version's. `schemaKey` changes bump the major.
   */
  commit(meta: VersionMeta, schemaKey: string, description: LayerDescription): CommitResult;
  /** Drops everything the build wrote. */
  abort(): void;
}

/** An ingest memo file, open: every read is of the same file, even if a publish replaces it meanwhile. */
export interface IngestMemoFile {
  readonly size: number;
  /** `length` bytes from `position` (fewer past the end), in a buffer of their own. */
  read(position: number, length: number): Uint8Array;
  close(): void;
}

/** The catalog and tile store. The SQLite implementation is the embedded default. */
export interface TileStore {
  listLayers(): LayerRecord[];
  getLayer(id: string): LayerRecord | null;
  /** The tile of a version, or null when the version has no tile there. */
  getTile(vid: number, z: number, x: number, y: number): StoredTile | null;
  /**
   * Starts a version. A local build (no `imported`) of a mirrored layer is refused with a
   * StoreError('conflict'); an import keeps the upstream's tag and never commits as "unchanged".
   */
  beginBuild(layer: string, imported?: ImportOptions): VersionBuild;
  /**
   * Makes a live version current again; records an event. Returns null, recording
   * nothing, when that version is already current (no change, so no event and no
   * sequence number). A mirrored layer is refused (StoreError 'conflict') unless
   * `byMirror`: only its mirror follows the origin's rollbacks.
   */
  rollback(layer: string, version: string, options?: { byMirror?: boolean }): ChangeEvent | null;
  /** Streams the tiles that differ between two versions of a layer, in z/x/y order; fromVid null = from no tiles. */
  diff(fromVid: number | null, toVid: number): IterableIterator<DiffEntry>;
  /** Every tile of a version with its gzip body, in z/x/y order (for exports; holds the connection while iterating). */
  iterateTiles(vid: number): IterableIterator<StoredTileAt>;
  /** The per-feature fingerprints kept with a version, or null when it has none. */
  readFeatureSet(vid: number): FeatureSet | null;
  /**
   * The layer's ingest memo, open: what its last ingest made of each source record, so the
   * next one skips records that did not change. A cache: null whenever there is none.
   */
  openIngestMemo(layer: string): IngestMemoFile | null;
  /** Replaces the layer's ingest memo with the concatenation of `parts`, whole or not at all (asynchronously: a publish writes it while tiling). */
  writeIngestMemo(layer: string, parts: readonly Uint8Array[]): Promise<void>;
  /** Change events with seq > since, oldest first. */
  eventsSince(since: number, limit?: number): ChangeEvent[];
  /**
   * Keeps the `keep` live versions of a layer that were current most recently (then the
   * newest), and never the current one; returns the pruned tags. After a rollback, the
   * version clients were just reading outlives newer ones nobody reads any more.
   */
  prune(layer: string, keep: number): string[];
  /** The hashes among `hashes` whose blob the store neither holds nor has staged. */
  missingBlobs(hashes: readonly string[]): string[];
  /** Keeps blobs a mirror fetched for `layer` until its version commits (they survive a restart). */
  stageBlobs(layer: string, blobs: readonly StagedBlob[]): void;
  /** Drops the blobs staged for `layer` (after its import committed, or to give it up). */
  clearStaged(layer: string): void;
  /** A number that changes whenever another process commits to the store. */
  dataVersion(): number;
  close(): void;
}
