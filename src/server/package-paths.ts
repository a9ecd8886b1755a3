import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder with package.json), whether running from src/ or dist/. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the server code');
    dir = parent;
  }
  return dir;
}

/** The viewer's static files (kept in src/, not compiled). */
export function viewerDir(): string {
  return path.join(packageRoot(), 'src', 'server', 'viewer');
}

/** maplibre-gl's dist folder from the installed package (no CDN: there may be no internet). */
export function maplibreDistDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('maplibre-gl/package.json')), 'dist');
}
