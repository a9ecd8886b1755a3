import { hash } from 'node:crypto';
import type { FieldType, GeometryKind } from '../../src/domain/catalog.js';

/**
 * What a previous ingest of the layer made of each source record it kept cleanly, so
 * that a republish takes a record whose bytes did not change as it was, without
 * parsing, reprojecting or validating it again. Made and stored by the publish step.
 */
export interface RecordMemo {
  /** The CRS the memo's features were read in and the source's record context (IngestSummary.memoContext): it serves only an ingest under the same. */
  readonly context: string;
  /** The memo feature made from the record with this digest, or -1. */
  find(digest: string): number;
  /** Features in the memo. */
  readonly count: number;
  /** Byte length of the source record memo feature j was made from. */
  length(j: number): number;
  /** Memo feature j's MVT id. */
  id(j: number): number;
  kind(j: number): GeometryKind;
  /** Memo feature j's attributes and their types. */
  fields(j: number): readonly (readonly [string, FieldType])[];
  /** Widens lon/lat bounds [minLon, minLat, maxLon, maxLat] by memo feature j's positions. */
  extend(j: number, bounds: [number, number, number, number]): void;
}

/** Digest of a source record's bytes (SHA-256, base64): records with equal digests are taken as equal. */
export function recordDigest(raw: Uint8Array): string {
  return hash('sha256', raw, 'base64');
}
