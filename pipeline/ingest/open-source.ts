import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { PipelineError } from '../pipeline-error.js';
import type { OpenedSource, ReaderOptions } from './source-feature.js';

/** File extensions a layer source may have, by format. */
export const SOURCE_EXTENSIONS = {
  shapefile: ['.shp'],
  zippedShapefile: ['.zip'],
  geojson: ['.geojson', '.json'],
  geojsonSeq: ['.ndjson', '.geojsonl', '.geojsons', '.geojsonseq', '.jsonl'],
  geopackage: ['.gpkg'],
} as const;

/** Every extension of SOURCE_EXTENSIONS, in one list. */
export const SOURCE_EXTENSION_LIST: readonly string[] = Object.values(SOURCE_EXTENSIONS).flat();

/** Whether a source is a GeoJSON FeatureCollection file, by its extension. */
export function isGeojsonSource(file: string): boolean {
  return (SOURCE_EXTENSIONS.geojson as readonly string[]).includes(path.extname(file).toLowerCase());
}

/** Opens a layer source by its file extension. */
export async function openSource(file: string, options: ReaderOptions): Promise<OpenedSource> {
  const name = path.basename(file);
  const info = await stat(file).catch(() => null);
  if (!info) throw new PipelineError({ file: name }, (await brokenLink(file)) ?? `source file not found${await otherCase(file)}`);
  if (!info.isFile()) throw new PipelineError({ file: name }, 'source is not a file');
  const ext = path.extname(file).toLowerCase();
  const is = (list: readonly string[]): boolean => list.includes(ext);
  // Each reader is loaded when a source of its format is opened: a publish of GeoJSON does
  // not load the Shapefile, zip and GeoPackage code (some 50 ms of a process's start).
  if (is(SOURCE_EXTENSIONS.shapefile)) return (await import('./read-shapefile.js')).readShapefile(file, options);
  if (is(SOURCE_EXTENSIONS.zippedShapefile)) return (await import('./read-zipped-shapefile.js')).readZippedShapefile(file, options);
  if (isGeojsonSource(file)) return (await import('./read-geojson.js')).readGeojson(file, options);
  if (is(SOURCE_EXTENSIONS.geojsonSeq)) return (await import('./read-geojson-seq.js')).readGeojsonSeq(file, options);
  if (is(SOURCE_EXTENSIONS.geopackage)) return (await import('./read-gpkg.js')).readGeopackage(file, options);
  if (ext === '.dbf' || ext === '.shx') throw new PipelineError({ file: name }, 'is part of a Shapefile: point the layer\'s source at the .shp');
  throw new PipelineError({ file: name }, `unsupported source format "${ext || name}" (use ${SOURCE_EXTENSION_LIST.join(' ')})`);
}

/** What to say when the path is a symbolic link whose target is missing, or null when it is not one. */
async function brokenLink(file: string): Promise<string | null> {
  const own = await lstat(file).catch(() => null);
  if (!own?.isSymbolicLink()) return null;
  const target = await readlink(file).catch(() => '?');
  return `source is a broken symbolic link to "${target}" (its target does not exist)`;
}

/** A hint when the folder holds the file under another case ("A.SHP" for a.shp): file names are case-sensitive here, unlike on Windows. */
async function otherCase(file: string): Promise<string> {
  const name = path.basename(file).toLowerCase();
  const entries = await readdir(path.dirname(file)).catch(() => [] as string[]);
  const own = path.basename(file);
  const hit = entries.find((e) => e !== own && e.toLowerCase() === name);
  return hit ? ` (the folder has "${hit}": names are case-sensitive here, so set the layer's source to it)` : '';
}
