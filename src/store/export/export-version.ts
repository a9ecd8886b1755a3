import { readdirSync, renameSync, rmSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { LayerSpec } from '../../domain/tile-path.js';
import { isProcessAlive } from '../process-alive.js';
import type { TileStore, VersionRecord } from '../tile-store.js';
import { ExportError } from './export-error.js';
import { writeMbtiles } from './write-mbtiles.js';
import { writePmtiles } from './write-pmtiles.js';

/** The formats `plantiles export` writes, by file extension. */
export type ExportFormat = 'mbtiles' | 'pmtiles';

/** What an export wrote. */
export interface ExportResult {
  layer: string;
  version: string;
  format: ExportFormat;
  file: string;
  tiles: number;
  bytes: number;
}

/** The format a file name asks for, or null. */
export function exportFormatOf(file: string): ExportFormat | null {
  const ext = path.extname(file).toLowerCase();
  return ext === '.mbtiles' ? 'mbtiles' : ext === '.pmtiles' ? 'pmtiles' : null;
}

/**
 * Exports a version (the current one when the spec names none) to an MBTiles or
 * PMTiles file. The file appears only when complete: it is written beside the
 * target under a temporary name and renamed.
 */
export function exportVersion(store: TileStore, spec: LayerSpec, file: string, options: { replace?: boolean } = {}): ExportResult {
  const format = exportFormatOf(file);
  if (!format) throw new ExportError({ layer: spec.layer, file }, `${file}: the file name must end in .mbtiles or .pmtiles`);
  const layer = store.getLayer(spec.layer);
  if (!layer || layer.currentVid === null) throw new ExportError({ layer: spec.layer, file }, `layer "${spec.layer}" has no published version`);
  const version = pickVersion(layer.versions, layer.currentVid, spec);
  const target = path.resolve(file);
  const problem = targetProblem(target, options.replace ?? false);
  if (problem) throw new ExportError({ layer: layer.id, version: version.version, file }, `${file}: ${problem}`);
  removeAbandonedPartials(target);
  const tmp = `${target}.partial-${process.pid}`;
  const scratch = [`${tmp}.bodies`, `${tmp}.data`] as const;
  try {
    const tiles = format === 'mbtiles'
      ? writeMbtiles(store, layer, version, tmp)
      : writePmtiles(store, layer, version, tmp, scratch[0], scratch[1]).tiles;
    renameSync(tmp, target);
    return { layer: layer.id, version: version.version, format, file: target, tiles, bytes: statSync(target).size };
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof ExportError) throw err;
    throw new ExportError({ layer: layer.id, version: version.version, file }, `${file}: ${(err as Error).message}`);
  } finally {
    for (const f of scratch) rmSync(f, { force: true });
  }
}

/** What stands in the way of writing `target`, or null: its folder, a folder in its place, or a file already there. */
function targetProblem(target: string, replace: boolean): string | null {
  const dir = path.dirname(target);
  const folder = statOrNull(dir);
  if (!folder) return `the folder ${dir} does not exist`;
  if (!folder.isDirectory()) return `${dir} is not a folder`;
  const existing = statOrNull(target);
  if (existing?.isDirectory()) return 'is a folder';
  if (existing && !replace) return 'already exists (give --force to replace it)';
  return null;
}

function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}

/**
 * Removes what an export that was killed left beside `target` (its `.partial-<pid>` files,
 * whose process has ended): the export writes synchronously, so a signal ends it before
 * any cleanup could run.
 */
function removeAbandonedPartials(target: string): void {
  const dir = path.dirname(target);
  const prefix = `${path.basename(target)}.partial-`;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)/.exec(name.slice(prefix.length))?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !isProcessAlive(pid)) rmSync(path.join(dir, name), { force: true });
  }
}

function pickVersion(versions: readonly VersionRecord[], currentVid: number, spec: LayerSpec): VersionRecord {
  const v = spec.version === null ? versions.find((r) => r.vid === currentVid) : versions.find((r) => r.version === spec.version);
  if (!v) throw new ExportError({ layer: spec.layer }, `layer "${spec.layer}" has no version ${spec.version ?? '(current)'}`);
  if (v.state !== 'live') throw new ExportError({ layer: spec.layer, version: v.version }, `version ${v.version} of "${spec.layer}" was removed by retention`);
  return v;
}
