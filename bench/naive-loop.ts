import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { GeoJSONVT } from '@maplibre/geojson-vt';
import { fromGeojsonVt } from '@maplibre/vt-pbf';
import Database from 'better-sqlite3';

/**
 * The floor plantiles must beat: the shortest honest way to tile a file with the same
 * libraries. Parse the whole file, build one geojson-vt index, walk the pyramid,
 * encode with vt-pbf, gzip, one SQLite insert per tile. No validation, no budget,
 * no hashing, no versions. Run as a child process by the tiling bench:
 * `node dist/bench/naive-loop.js <in.geojson> <out.sqlite> <minzoom> <maxzoom> <budgetBytes>`;
 * prints one JSON line of figures.
 */
function main(): void {
  const [file, out, minArg, maxArg, budgetArg] = process.argv.slice(2);
  if (!file || !out) throw new Error('usage: naive-loop <in.geojson> <out.sqlite> [minzoom] [maxzoom] [budgetBytes]');
  const minzoom = Number(minArg ?? 0);
  const maxzoom = Number(maxArg ?? 14);
  const budget = Number(budgetArg ?? 512_000);
  const started = performance.now();
  const data = JSON.parse(readFileSync(file, 'utf8')) as GeoJSON.FeatureCollection;
  const index = new GeoJSONVT(data, { maxZoom: maxzoom, indexMaxZoom: 5, indexMaxPoints: 100_000, tolerance: 3, extent: 4096, buffer: 64 });
  const db = new Database(out);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS tiles (z INTEGER, x INTEGER, y INTEGER, data BLOB, PRIMARY KEY (z, x, y))');
  const insert = db.prepare('INSERT OR REPLACE INTO tiles (z, x, y, data) VALUES (?, ?, ?, ?)');
  const stats = { tiles: 0, bytes: 0, largest: 0, overBudget: 0 };
  const stack: [number, number, number][] = [[0, 0, 0]];
  while (stack.length) {
    const [z, x, y] = stack.pop() as [number, number, number];
    const tile = index.getTile(z, x, y);
    if (!tile) continue;
    if (z >= minzoom && tile.features.length) {
      const gz = gzipSync(fromGeojsonVt({ layer: tile }, { version: 2, extent: 4096 }));
      insert.run(z, x, y, gz);
      stats.tiles++;
      stats.bytes += gz.length;
      stats.largest = Math.max(stats.largest, gz.length);
      if (gz.length > budget) stats.overBudget++;
    }
    if (z < maxzoom) for (let i = 3; i >= 0; i--) stack.push([z + 1, x * 2 + (i & 1), y * 2 + (i >> 1)]);
  }
  db.close();
  const seconds = (performance.now() - started) / 1000;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ seconds, peakRssBytes, ...stats })}\n`);
}

main();
