import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Geometry } from 'geojson';
import * as shapefile from 'shapefile';
import { PipelineError } from '../pipeline-error.js';
import { toProperties, type OpenedSource, type SourceFeature } from './source-feature.js';

/** Opens a Shapefile (.shp with its .dbf, .prj and .cpg beside it). */
export async function readShapefile(shpPath: string, encoding?: string): Promise<OpenedSource> {
  const name = path.basename(shpPath);
  const base = shpPath.slice(0, -path.extname(shpPath).length);
  const dbfPath = findSibling(base, 'dbf');
  const prjPath = findSibling(base, 'prj');
  const cpgPath = findSibling(base, 'cpg');
  const prj = prjPath ? (await readFile(prjPath, 'utf8')).trim() : null;
  const cpg = cpgPath ? (await readFile(cpgPath, 'latin1')).trim() : null;
  const textEncoding = normaliseEncoding(encoding ?? cpg ?? 'utf-8', name);
  let source: shapefile.Source<GeoJSON.Feature>;
  try {
    source = await shapefile.open(shpPath, dbfPath ?? undefined, { encoding: textEncoding });
  } catch (err) {
    throw new PipelineError({ file: name }, `cannot open shapefile: ${(err as Error).message}`);
  }
  return {
    info: { crs: prj, crsOrigin: prjPath ? path.basename(prjPath) : 'no .prj' },
    features: iterate(source, name),
  };
}

async function* iterate(source: shapefile.Source<GeoJSON.Feature>, name: string): AsyncGenerator<SourceFeature> {
  for (let index = 0; ; index++) {
    let result: { done: boolean; value: GeoJSON.Feature };
    try {
      result = await source.read();
    } catch (err) {
      throw new PipelineError({ file: name, feature: `#${index}` }, `cannot read record: ${(err as Error).message}`);
    }
    if (result.done) return;
    const props = result.value.properties as Record<string, unknown> | null;
    const properties = toProperties(props);
    for (const [key, value] of Object.entries(properties)) {
      if (typeof value === 'string' && value.includes('\uFFFD')) {
        throw new PipelineError({ file: name, feature: `#${index}` }, `attribute ${key} is not valid text in the encoding used; set the layer's encoding (e.g. GBK)`);
      }
    }
    yield { index, geometry: result.value.geometry as Geometry | null, properties };
  }
}

function findSibling(base: string, ext: string): string | null {
  for (const candidate of [`${base}.${ext}`, `${base}.${ext.toUpperCase()}`]) if (existsSync(candidate)) return candidate;
  return null;
}

const ENCODINGS: Record<string, string> = {
  gbk: 'gbk', cp936: 'gbk', '936': 'gbk', gb2312: 'gbk', gb18030: 'gb18030',
  'utf-8': 'utf-8', utf8: 'utf-8', '65001': 'utf-8',
};

function normaliseEncoding(encoding: string, file: string): string {
  const key = encoding.trim().toLowerCase();
  const known = ENCODINGS[key];
  if (!known) throw new PipelineError({ file }, `unsupported text encoding "${encoding}" (use GBK, GB18030 or UTF-8)`);
  return known;
}
