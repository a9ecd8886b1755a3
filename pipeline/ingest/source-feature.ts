import type { RecordsElsewhere } from './read-geojson-thread.js';

/** A property value kept in tiles. Nulls are dropped (absent), dates become ISO strings. */
export type PropertyValue = string | number | boolean;

/** An attribute problem a reader found (a value not of its column's type, text that does not decode). */
export interface AttributeProblem {
  field: string;
  kind: 'bad-value' | 'undecodable-text';
  message: string;
}

/** One feature as read from a source, before validation and reprojection. */
export interface SourceFeature {
  /** 0-based position in the source, for messages. */
  index: number;
  /** As the source has it: GeoJSON is untrusted and checked by the validator. */
  geometry: unknown;
  properties: Record<string, PropertyValue>;
  problems?: AttributeProblem[];
  /** Digest of the record's bytes in the source, and their length, when ingest asked for them (ReaderOptions.recall). */
  digest?: string;
  length?: number;
  /**
   * Set instead of geometry and properties when a previous ingest made memo feature
   * `previous` from the very same bytes; `parse` reads the record after all.
   */
  recalled?: { previous: number; parse: () => SourceFeature };
}

/** What ingest says about a record's bytes: their digest and the memo feature made from them before (-1: none). */
export interface RecordRecall {
  digest: string;
  previous: number;
}

/** Ingest's side of recalling records, as readers see it. */
export interface RecordRecaller {
  /** Digests a record's raw bytes and looks them up. */
  recall(raw: Uint8Array): RecordRecall;
  /**
   * Byte lengths the next record likely has (those of the records that followed the last
   * one recalled). Bytes of such a length whose digest is recalled were once read as one
   * whole record, so a reader may take them without scanning them.
   */
  nextLengths(): readonly number[];
  /**
   * Takes a record digested and looked up in the memo on another thread (`previous`: the
   * memo feature found, -1 for none), in source order: what `recall` would have said.
   */
  accept(digest: string, previous: number): RecordRecall;
}

/** What a reader knows about a source besides its features. */
export interface SourceInfo {
  /** The file's own CRS statement (.prj WKT, GeoPackage SRS, a GeoJSON crs name), if any. */
  crs: string | null;
  /** Where that statement came from, for messages ("farmland.prj"). */
  crsOrigin: string;
  /** The CRS the format implies when the file says none (GeoJSON: WGS 84). */
  defaultCrs?: string;
  /** Why there is no CRS when there is none ("the shapefile has no .prj"). */
  missingCrs?: string;
  /** How messages about the whole source name it, where not by its file name (a zipped Shapefile: "parcels.zip/parcels.shp"). */
  label?: string;
  /** Attribute names the source declares (DBF, GeoPackage); null when only the features tell. */
  fieldNames: string[] | null;
  /** The attribute text encoding in use and where it came from, when the format has a choice. */
  encoding?: () => string;
  /**
   * What besides a record's own bytes decides what it reads as (a table's schema and its
   * text encoding): records are recalled only from a memo made under the same.
   */
  recordContext?: string;
}

/** An opened source: its info and its features, streamed. `close` is always called. */
export interface OpenedSource {
  info: SourceInfo;
  features: AsyncIterable<SourceFeature>;
  /**
   * The same features, a batch (what one read of the file held) at a time, for readers
   * that have them so: one asynchronous step per batch instead of per feature. Each batch
   * makes its features as it is iterated, so problems surface in source order.
   */
  batches?: AsyncIterable<Iterable<SourceFeature>>;
  close(): Promise<void>;
}

/** What readers need from the layer's configuration. */
export interface ReaderOptions {
  /** Attribute text encoding from the layer config. */
  encoding?: string | undefined;
  /** The table inside a GeoPackage. */
  sourceLayer?: string | undefined;
  /** The layer config sets the CRS, so the file's own statement does not matter. */
  crsFromConfig: boolean;
  /**
   * Asks about each record's raw bytes before it is parsed; a record recalled from a
   * previous ingest is handed over unparsed. Readers that cannot give a record's bytes ignore it.
   */
  recall?: RecordRecaller | undefined;
  /**
   * The source's records as another thread splits, digests and looks them up in the memo
   * (GeoJSON only: read-geojson-thread.ts), started before the memo was read whole.
   */
  elsewhere?: RecordsElsewhere | undefined;
}

/** Turns a raw attribute into a tile property value, or undefined to drop it. */
export function toPropertyValue(value: unknown): PropertyValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString().slice(0, 10);
  return JSON.stringify(value);
}

/** Converts a raw property object, dropping nulls. */
export function toProperties(raw: Record<string, unknown> | null | undefined): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = {};
  if (!raw) return out;
  for (const [key, value] of Object.entries(raw)) {
    const v = toPropertyValue(value);
    if (v !== undefined) out[key] = v;
  }
  return out;
}
