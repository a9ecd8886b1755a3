import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where `npm install --prefix bench/peers` puts the peers. */
export const PEERS_DIR = path.join('bench', 'peers');
const MAIN = path.join(PEERS_DIR, 'node_modules', 'tileserver-gl-light', 'src', 'main.js');

/**
 * Installs tileserver-gl-light from the npm registry into bench/peers/node_modules
 * (ignored by git) unless it is there; returns its entry script, or the reason it
 * could not be installed (the benchmark then reports the peer as skipped).
 */
export function installTileserver(log: (m: string) => void): { main: string } | { skipped: string } {
  if (existsSync(MAIN)) return { main: MAIN };
  log('installing tileserver-gl-light into bench/peers (npm registry)');
  const r = spawnSync('npm', ['install', '--prefix', PEERS_DIR, '--no-package-lock', '--no-audit', '--no-fund'], { encoding: 'utf8', timeout: 30 * 60_000 });
  if (r.status !== 0 || !existsSync(MAIN)) {
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' ');
    return { skipped: `npm install of tileserver-gl-light failed: ${why}` };
  }
  return { main: MAIN };
}

/**
 * Arguments to serve one MBTiles file on a loopback port: tiles at /data/{id}/{z}/{x}/{y}.pbf.
 * A config file names the data, since the automatic config expects a global install's layout.
 */
export function tileserverArgs(main: string, mbtiles: string, id: string, port: number, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({
    options: { paths: { root: dir, mbtiles: path.dirname(path.resolve(mbtiles)) } },
    data: { [id]: { mbtiles: path.basename(mbtiles) } },
  }));
  return [main, '--config', config, '--port', String(port), '--bind', '127.0.0.1'];
}
