import { createRequire } from 'node:module';
import type proj4 from 'proj4';

const require = createRequire(import.meta.url);
let loaded: typeof proj4 | null = null;

/**
 * proj4, loaded on first use: compiling it takes 50-70 ms of a process's start, and a
 * source already in WGS 84 or CGCS2000 lon/lat (every GeoJSON) never needs it.
 */
export function loadProj4(): typeof proj4 {
  loaded ??= require('proj4') as typeof proj4;
  return loaded;
}
