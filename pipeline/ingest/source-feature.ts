import type { Geometry } from 'geojson';

/** A property value kept in tiles. Nulls are dropped (absent), dates become ISO strings. */
export type PropertyValue = string | number | boolean;

/** One feature as read from a source, before reprojection. */
export interface SourceFeature {
  /** 0-based position in the source, for messages. */
  index: number;
  geometry: Geometry | null;
  properties: Record<string, PropertyValue>;
}

/** What a reader knows about a source besides its features. */
export interface SourceInfo {
  /** The file's own CRS statement (.prj WKT, a GeoJSON crs name), if any. */
  crs: string | null;
  /** How the CRS was found, for messages. */
  crsOrigin: string;
}

/** An opened source: its info and its features, streamed. */
export interface OpenedSource {
  info: SourceInfo;
  features: AsyncIterable<SourceFeature>;
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
