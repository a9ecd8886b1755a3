import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Geometry } from 'geojson';
import { PipelineError } from '../pipeline-error.js';
import { toProperties, type OpenedSource, type SourceFeature } from './source-feature.js';

/** Opens a GeoJSON FeatureCollection file. */
export async function readGeojson(file: string): Promise<OpenedSource> {
  const name = path.basename(file);
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new PipelineError({ file: name }, `not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc) || doc.type !== 'FeatureCollection' || !Array.isArray(doc.features)) {
    const kind = isObject(doc) && typeof doc.type === 'string' ? `a ${doc.type}` : 'not a GeoJSON object';
    throw new PipelineError({ file: name }, `expected a GeoJSON FeatureCollection, found ${kind}`);
  }
  const list: unknown[] = doc.features;
  return { info: { crs: crsName(doc), crsOrigin: 'GeoJSON crs member' }, features: iterate(list, name) };
}

async function* iterate(list: unknown[], name: string): AsyncGenerator<SourceFeature> {
  for (let index = 0; index < list.length; index++) {
    const f = list[index];
    if (!isObject(f) || f.type !== 'Feature') throw new PipelineError({ file: name, feature: `#${index}` }, 'not a GeoJSON Feature');
    const props = isObject(f.properties) ? f.properties : null;
    yield { index, geometry: (f.geometry ?? null) as Geometry | null, properties: toProperties(props) };
  }
}

function crsName(doc: Record<string, unknown>): string | null {
  const crs = doc.crs;
  if (!isObject(crs) || !isObject(crs.properties)) return null;
  const name = crs.properties.name;
  return typeof name === 'string' ? name : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
