import type { Geometry, Position } from 'geojson';
import type { Problem } from './validation-policy.js';

/**
 * Runs a per-polygon check over a Polygon or each part of a MultiPolygon, returning the
 * first problem; `prefix` names the part ("part 2: ") when there are several. Other
 * geometry types have no rings to check.
 */
export function checkEachPolygon(g: Geometry, check: (rings: Position[][], prefix: string) => Problem | null): Problem | null {
  if (g.type === 'Polygon') return check(g.coordinates, '');
  if (g.type !== 'MultiPolygon') return null;
  for (let i = 0; i < g.coordinates.length; i++) {
    const found = check(g.coordinates[i] as Position[][], g.coordinates.length > 1 ? `part ${i + 1}: ` : '');
    if (found) return found;
  }
  return null;
}
