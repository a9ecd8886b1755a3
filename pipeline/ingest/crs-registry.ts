import proj4 from 'proj4';

const CGCS2000_TM = (lon0: number, x0: number): string =>
  `+proj=tmerc +lat_0=0 +lon_0=${lon0} +k=1 +x_0=${x0} +y_0=0 +ellps=GRS80 +units=m +no_defs`;

/** proj4 definitions of the CRSs Chinese planning data arrives in, by EPSG code. */
function buildDefinitions(): Record<string, string> {
  const defs: Record<string, string> = {
    'EPSG:4326': '+proj=longlat +datum=WGS84 +no_defs',
    // CGCS2000 differs from WGS 84 by centimetres; tiles treat them as one datum.
    'EPSG:4490': '+proj=longlat +ellps=GRS80 +no_defs',
    'EPSG:3857': '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs',
  };
  // 6-degree Gauss-Krüger: 4491-4501 zones 13-23 with the zone in the false easting, 4502-4512 without.
  for (let i = 0; i <= 10; i++) {
    const zone = 13 + i;
    const lon0 = zone * 6 - 3;
    defs[`EPSG:${4491 + i}`] = CGCS2000_TM(lon0, zone * 1_000_000 + 500_000);
    defs[`EPSG:${4502 + i}`] = CGCS2000_TM(lon0, 500_000);
  }
  // 3-degree Gauss-Krüger: 4513-4533 zones 25-45 with the zone number, 4534-4554 without.
  for (let i = 0; i <= 20; i++) {
    const zone = 25 + i;
    const lon0 = zone * 3;
    defs[`EPSG:${4513 + i}`] = CGCS2000_TM(lon0, zone * 1_000_000 + 500_000);
    defs[`EPSG:${4534 + i}`] = CGCS2000_TM(lon0, 500_000);
  }
  return defs;
}

let registered = false;

/** Registers every known EPSG code with proj4 (idempotent). */
export function registerCrsDefinitions(): void {
  if (registered) return;
  for (const [code, def] of Object.entries(buildDefinitions())) proj4.defs(code, def);
  registered = true;
}

/** Normalises "EPSG:4490", "epsg:4490", "urn:ogc:def:crs:EPSG::4490", CRS84 names to "EPSG:n"; else null. */
export function normaliseCrsName(name: string): string | null {
  const trimmed = name.trim();
  if (/^urn:ogc:def:crs:OGC:(1\.3)?:CRS84$/i.test(trimmed) || /^CRS:?84$/i.test(trimmed)) return 'EPSG:4326';
  const m = /^(?:urn:ogc:def:crs:)?EPSG:{1,2}(\d{4,5})$/i.exec(trimmed);
  return m ? `EPSG:${m[1]}` : null;
}
