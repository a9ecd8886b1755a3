import type { PropertyValue } from './source-feature.js';

/**
 * A layer's `fields`: a list of names to keep (in order), where an item may be
 * `{from, to}` to publish an attribute under another name; or a map from source
 * name to published name (`{地类名称: DLMC}`).
 */
export type FieldsSpec = (string | { from: string; to: string })[] | Record<string, string>;

/** One kept attribute: its source name and its published name. */
export interface FieldMapping {
  from: string;
  to: string;
}

/** The ordered mappings of a spec, or null for "keep every attribute as it is". */
export function normaliseFields(spec: FieldsSpec | undefined): FieldMapping[] | null {
  if (spec === undefined) return null;
  if (Array.isArray(spec)) return spec.map((item) => (typeof item === 'string' ? { from: item, to: item } : { from: item.from, to: item.to }));
  return Object.entries(spec).map(([from, to]) => ({ from, to }));
}

/** Picks and renames attributes; with no mappings every attribute is kept. */
export function selectFields(props: Record<string, PropertyValue>, mappings: FieldMapping[] | null): Record<string, PropertyValue> {
  if (!mappings) return { ...props };
  const out: Record<string, PropertyValue> = {};
  for (const { from, to } of mappings) {
    const value = props[from];
    if (value !== undefined) out[to] = value;
  }
  return out;
}
