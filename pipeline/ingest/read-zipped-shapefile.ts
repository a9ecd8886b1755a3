import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PipelineError } from '../pipeline-error.js';
import { readShapefile } from './read-shapefile.js';
import type { OpenedSource, ReaderOptions, SourceFeature } from './source-feature.js';
import { unzipSafely } from './unzip-safely.js';

/**
 * Opens a zipped Shapefile: unpacks it safely into a temporary folder beside the
 * zip (the same disk as the data; the system temp folder if that is read-only),
 * reads the one .shp inside (or the one named by sourceLayer), and removes the
 * folder on close. A zip with no Shapefile but one GeoJSON file is read as that
 * GeoJSON, as an upload of it is.
 */
export async function readZippedShapefile(zipPath: string, options: ReaderOptions): Promise<OpenedSource> {
  const zipName = path.basename(zipPath);
  const dir = await makeTempDir(path.dirname(zipPath));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const files = await unzipSafely(zipPath, dir);
    const geojson = options.sourceLayer === undefined ? loneGeojson(files) : null;
    const shp = geojson ?? pickShapefile(files, zipName, options.sourceLayer);
    const inner = `${zipName}/${shp}`;
    const read = geojson ? async () => (await import('./read-geojson.js')).readGeojson(path.join(dir, shp), options) : () => readShapefile(path.join(dir, shp), options);
    const opened = await withInnerName(inner, read);
    // On the reader's own info, not a copy: a GeoJSON reader fills in its "crs" member there as it reads.
    opened.info.label = inner;
    return {
      info: opened.info,
      features: renameErrors(opened.features, inner),
      close: async () => {
        try {
          await opened.close();
        } finally {
          await remove();
        }
      },
    };
  } catch (err) {
    await remove();
    throw err;
  }
}

async function makeTempDir(beside: string): Promise<string> {
  try {
    return await mkdtemp(path.join(beside, '.plantiles-unzip-'));
  } catch {
    return mkdtemp(path.join(os.tmpdir(), 'plantiles-unzip-'));
  }
}

/** Files of the zip that are not macOS metadata. */
function realFiles(files: string[]): string[] {
  return files.filter((f) => !f.startsWith('__MACOSX/') && !path.basename(f).startsWith('._'));
}

/** The zip's one GeoJSON file, when it holds no Shapefile; null otherwise. */
function loneGeojson(files: string[]): string | null {
  const real = realFiles(files);
  if (real.some((f) => /\.shp$/i.test(f))) return null;
  const json = real.filter((f) => /\.(geo)?json$/i.test(f));
  return json.length === 1 ? (json[0] as string) : null;
}

function pickShapefile(files: string[], zipName: string, wanted: string | undefined): string {
  const shps = realFiles(files).filter((f) => /\.shp$/i.test(f));
  if (wanted !== undefined) {
    const hit = shps.find((f) => path.basename(f, path.extname(f)) === wanted);
    if (!hit) throw new PipelineError({ file: zipName }, `holds no Shapefile named "${wanted}" (it has: ${shps.join(', ') || 'none'})`);
    return hit;
  }
  if (shps.length === 1) return shps[0] as string;
  if (!shps.length) throw new PipelineError({ file: zipName }, 'holds no .shp file, nor one GeoJSON file (a zipped Shapefile is expected)');
  throw new PipelineError({ file: zipName }, `holds ${shps.length} Shapefiles (${shps.join(', ')}); set the layer's sourceLayer`);
}

/** Errors about the unpacked files name them inside the zip: "parcels.zip/parcels.shp". */
async function withInnerName<T>(inner: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    throw rename(err, inner);
  }
}

async function* renameErrors(features: AsyncIterable<SourceFeature>, inner: string): AsyncGenerator<SourceFeature> {
  try {
    yield* features;
  } catch (err) {
    throw rename(err, inner);
  }
}

function rename(err: unknown, inner: string): unknown {
  if (!(err instanceof PipelineError)) return err;
  // Named inside the zip already (the source's label); the zip itself, for a problem of the whole layer, or its .shp: the file inside.
  const zipName = inner.slice(0, inner.indexOf('/'));
  if (err.location.file.startsWith(`${zipName}/`)) return err;
  const file = err.location.file.endsWith('.shp') || err.location.file === zipName ? inner : `${path.dirname(inner)}/${err.location.file}`;
  return new PipelineError({ ...err.location, file }, err.problem);
}
