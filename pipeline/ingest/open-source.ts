import { existsSync } from 'node:fs';
import path from 'node:path';
import { PipelineError } from '../pipeline-error.js';
import { readGeojson } from './read-geojson.js';
import { readShapefile } from './read-shapefile.js';
import type { OpenedSource } from './source-feature.js';

/** Opens a layer source by its file extension. */
export async function openSource(file: string, encoding?: string): Promise<OpenedSource> {
  const name = path.basename(file);
  if (!existsSync(file)) throw new PipelineError({ file: name }, 'source file not found');
  const ext = path.extname(file).toLowerCase();
  switch (ext) {
    case '.shp': return readShapefile(file, encoding);
    case '.geojson':
    case '.json': return readGeojson(file);
    default: throw new PipelineError({ file: name }, `unsupported source format "${ext}" (use .shp, .geojson or .json)`);
  }
}
