import { writeFileSync } from 'node:fs';
import type { Feature, FeatureCollection, Polygon } from 'geojson';

/** A small deterministic grid of parcels near Liaocheng (EPSG:4326), with Chinese attributes and 18-digit BSM ids. */
export function makeParcels(cols = 8, rows = 6): FeatureCollection<Polygon> {
  const features: Feature<Polygon>[] = [];
  const names: [string, string][] = [['0101', '水田'], ['0102', '水浇地'], ['0103', '旱地']];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const lon = 115.95 + c * 0.01;
      const lat = 36.43 + r * 0.01;
      const [dlbm, dlmc] = names[i % 3] as [string, string];
      features.push({
        type: 'Feature',
        properties: { BSM: `371502${String(i + 1).padStart(12, '0')}`, DLBM: dlbm, DLMC: dlmc, TBMJ: 1000 + i * 10.5, XZQDM: '371502' },
        geometry: {
          type: 'Polygon',
          coordinates: [[[lon, lat], [lon + 0.008, lat], [lon + 0.008, lat + 0.008], [lon, lat + 0.008], [lon, lat]]],
        },
      });
    }
  }
  return { type: 'FeatureCollection', features };
}

/** Writes a FeatureCollection as a .geojson file. */
export function writeGeojson(file: string, fc: FeatureCollection): void {
  writeFileSync(file, JSON.stringify(fc));
}

/** A config document with one GeoJSON parcel layer, storage in the same folder. */
export function parcelConfig(source = 'parcels.geojson', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    node: { id: 'testnode', title: 'test node' },
    storage: { dir: './store', keepVersions: 3 },
    layers: [{ id: 'parcels', title: '耕地图斑', source, idField: 'BSM', minzoom: 8, maxzoom: 13, ...extra }],
  };
}
