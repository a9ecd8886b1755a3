import Database from 'better-sqlite3';
import type { LayerRecord, TileStore, VersionRecord } from '../tile-store.js';
import { exportMetadata } from './export-metadata.js';

/** Tiles inserted per transaction. */
const BATCH = 2000;

/**
 * Writes one version as MBTiles 1.3 (https://github.com/mapbox/mbtiles-spec):
 * `tiles` with the stored gzip bodies in TMS row order, and `metadata` with
 * format pbf, bounds, center, zooms and `json` holding vector_layers.
 * Returns the number of tiles written.
 */
export function writeMbtiles(store: TileStore, layer: LayerRecord, version: VersionRecord, file: string): number {
  const db = new Database(file);
  try {
    // A fresh file, renamed into place by the caller only once complete: no journal needed.
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.exec('CREATE TABLE metadata (name TEXT, value TEXT); CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);');
    const insertMeta = db.prepare('INSERT INTO metadata (name, value) VALUES (?, ?)');
    db.transaction(() => {
      for (const [name, value] of metadataRows(layer, version)) insertMeta.run(name, value);
    })();
    const insertTile = db.prepare('INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?, ?, ?, ?)');
    const flush = db.transaction((batch: [number, number, number, Buffer][]) => {
      for (const row of batch) insertTile.run(...row);
    });
    let count = 0;
    let batch: [number, number, number, Buffer][] = [];
    for (const t of store.iterateTiles(version.vid)) {
      // MBTiles counts rows from the south (TMS); the store, like every URL, from the north.
      batch.push([t.z, t.x, 2 ** t.z - 1 - t.y, t.gz]);
      count++;
      if (batch.length >= BATCH) {
        flush(batch);
        batch = [];
      }
    }
    flush(batch);
    db.exec('CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row); CREATE UNIQUE INDEX name ON metadata (name);');
    return count;
  } finally {
    db.close();
  }
}

function metadataRows(layer: LayerRecord, version: VersionRecord): [string, string][] {
  const m = version.meta;
  const meta = exportMetadata(layer, version);
  return [
    ['name', meta.name],
    ['format', 'pbf'],
    ['bounds', m.bounds.join(',')],
    ['center', m.center.join(',')],
    ['minzoom', String(m.minzoom)],
    ['maxzoom', String(m.maxzoom)],
    ['attribution', meta.attribution],
    ['description', meta.description],
    ['type', meta.type],
    ['version', meta.version],
    ['json', JSON.stringify({ vector_layers: meta.vector_layers, tilestats: meta.tilestats })],
  ];
}
