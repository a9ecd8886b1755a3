import { isUtf8 } from 'node:buffer';
import { toProperties, type SourceFeature } from './source-feature.js';

/** A feature's JSON that cannot be used; the reader adds the file and the feature. */
export class FeatureJsonError extends Error {
  override readonly name = 'FeatureJsonError';
}

/** Largest JSON text of one feature; a bigger one is refused before it is parsed. */
export const MAX_FEATURE_BYTES = 64 * 2 ** 20;

// Integers beyond 2^53 (BSM codes written as numbers) lose digits as doubles; a
// feature whose attributes hold one is parsed again with such literals quoted,
// so they arrive as the exact digit string.
const STRING_OR_BIG_INTEGER = /"[^"\\]*(?:\\.[^"\\]*)*"|(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g;

/** Decodes a feature's bytes as UTF-8, refusing bytes that are not UTF-8 (GeoJSON is UTF-8 by definition). */
export function decodeFeatureBytes(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD') && !isUtf8(bytes)) {
    throw new FeatureJsonError('is not valid UTF-8 text (GeoJSON must be UTF-8; was the file saved as GBK?)');
  }
  return text;
}

/** Parses one feature's JSON text into a source feature. */
export function parseFeatureJson(text: string, index: number): SourceFeature {
  let value: unknown;
  try {
    value = JSON.parse(text);
    if (hasUnsafeInteger(value)) value = JSON.parse(text.replace(STRING_OR_BIG_INTEGER, (m) => (m.startsWith('"') ? m : `"${m}"`)));
  } catch (err) {
    throw new FeatureJsonError(`is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  return toSourceFeature(value, index);
}

function hasUnsafeInteger(value: unknown): boolean {
  const props = typeof value === 'object' && value !== null ? (value as { properties?: unknown }).properties : null;
  if (typeof props !== 'object' || props === null) return false;
  for (const v of Object.values(props)) if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) return true;
  return false;
}

/** Checks a parsed value is a GeoJSON Feature and takes its geometry and properties. */
export function toSourceFeature(value: unknown, index: number): SourceFeature {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FeatureJsonError(`is not a GeoJSON Feature (found ${Array.isArray(value) ? 'an array' : JSON.stringify(value)?.slice(0, 40)})`);
  }
  const f = value as Record<string, unknown>;
  if (f.type !== 'Feature') {
    throw new FeatureJsonError(`is not a GeoJSON Feature (its type is ${typeof f.type === 'string' ? `"${f.type.slice(0, 40)}"` : 'missing'})`);
  }
  const props = f.properties;
  if (props !== null && props !== undefined && (typeof props !== 'object' || Array.isArray(props))) {
    throw new FeatureJsonError('has "properties" that is not an object');
  }
  let properties: SourceFeature['properties'];
  try {
    properties = toProperties(props as Record<string, unknown> | null | undefined);
  } catch (err) {
    // A value nested thousands of levels deep parses, but is kept as its JSON text, which recursion cannot write.
    if (err instanceof RangeError) throw new FeatureJsonError('has a property nested too deeply to keep (objects or arrays thousands of levels deep)');
    throw err;
  }
  return { index, geometry: f.geometry ?? null, properties };
}
