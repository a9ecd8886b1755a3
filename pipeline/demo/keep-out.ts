// Areas the farmland generator keeps away from (towns, river corridors,
// wetlands, heritage sites), so the synthetic layers look plausible together.
import { toLocalMetres, type Position } from './geo.js';

/** Something farmland must stay clear of. */
export interface KeepOut {
  /** Metres from p to the zone's edge; negative inside. Approximate is fine. */
  clearance(p: Position): number;
}

/** A disc of the given radius in metres. */
export function discKeepOut(centre: Position, radius: number): KeepOut {
  return { clearance: (p) => Math.hypot(...toLocalMetres(centre, p)) - radius };
}

/** True when p is at least margin metres from every zone. */
export function isClearOf(zones: readonly KeepOut[], p: Position, margin: number): boolean {
  return zones.every((zone) => zone.clearance(p) >= margin);
}

