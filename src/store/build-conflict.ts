/** Who a layer belongs to, as the store records it. */
export interface LayerOwnership {
  /** The node it is mirrored from; null for a layer published on this node. */
  origin: string | null;
  currentVid: number | null;
}

/**
 * Why a build of `layer` may not happen, or null when it may: a local publish of a mirrored
 * layer, or a mirror's import (from `importOrigin`) over a layer published here or mirrored
 * from another node. The store refuses such a build; a mirror asks first, before fetching.
 */
export function buildConflict(layer: string, row: LayerOwnership | null, importOrigin: string | null): string | null {
  if (!row) return null;
  if (importOrigin === null) {
    return row.origin !== null ? `layer "${layer}" is mirrored from node "${row.origin}" and is read-only here; publish it on "${row.origin}"` : null;
  }
  if (row.origin === null && row.currentVid !== null) return `layer "${layer}" is published on this node; a mirror of node "${importOrigin}" cannot replace it`;
  if (row.origin !== null && row.origin !== importOrigin) return `layer "${layer}" is mirrored from node "${row.origin}", not from "${importOrigin}"`;
  return null;
}
