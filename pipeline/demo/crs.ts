// The demo's shapefiles use CGCS2000 3-degree Gauss–Krüger, central meridian
// 117°E (EPSG:4548), the projected CRS most Shandong planning data arrives in.
import proj4 from 'proj4';
import type { Position, Ring } from './geo.js';

/** proj4 definition of EPSG:4548 (no zone number in the false easting). */
export const GK117_PROJ4 = '+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs';

/** CGCS2000 geographic (EPSG:4490); GRS80 with no datum shift, as published. */
const CGCS2000_GEOGRAPHIC = '+proj=longlat +ellps=GRS80 +no_defs';

/**
 * ESRI WKT for the .prj; both proj4js and GDAL read this spelling
 * (GDAL identifies it as EPSG:4548).
 */
export const GK117_PRJ_WKT =
  'PROJCS["CGCS2000_3_Degree_GK_CM_117E",' +
  'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",' +
  'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],' +
  'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],' +
  'PROJECTION["Gauss_Kruger"],' +
  'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],' +
  'PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],' +
  'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]';

const toGk = proj4(CGCS2000_GEOGRAPHIC, GK117_PROJ4);

/** Projects a CGCS2000 lon/lat position to EPSG:4548 x/y metres. */
export function projectToGk(p: Position): Position {
  const [x, y] = toGk.forward([p[0], p[1]]);
  return [x as number, y as number];
}

/** Projects every position of a ring. */
export function projectRing(ring: Ring): Ring {
  return ring.map(projectToGk);
}
