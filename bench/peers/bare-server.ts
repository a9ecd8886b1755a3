import { createServer } from 'node:http';
import Database from 'better-sqlite3';

// The practical limit of Node for serving tiles: one prepared better-sqlite3 statement
// per request over an MBTiles file and nothing else (no cache, no logs, no metrics).
// Usage: node bare-server.js <file.mbtiles> <port>
const [file, port] = process.argv.slice(2);
if (!file || !port) throw new Error('usage: bare-server <file.mbtiles> <port>');
const db = new Database(file, { readonly: true });
const tileData = db.prepare<[number, number, number], Buffer>('SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?').pluck();
const TILE = /^\/(\d+)\/(\d+)\/(\d+)\.mvt$/;

createServer((req, res) => {
  const m = TILE.exec(req.url ?? '');
  if (!m) {
    res.statusCode = 404;
    res.end();
    return;
  }
  const z = Number(m[1]);
  const data = tileData.get(z, Number(m[2]), 2 ** z - 1 - Number(m[3]));
  if (!data) {
    res.statusCode = 204;
    res.end();
    return;
  }
  // The stored bodies are gzip; the benchmark's client accepts gzip.
  res.writeHead(200, { 'Content-Type': 'application/vnd.mapbox-vector-tile', 'Content-Encoding': 'gzip', 'Content-Length': data.length });
  res.end(data);
}).listen(Number(port), '127.0.0.1', () => console.log(`bare server on ${port}`));
