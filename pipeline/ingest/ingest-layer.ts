import path from 'node:path';
import type { Feature, Geometry } from 'geojson';
import type { FieldType, GeometryKind } from '../../src/domain/catalog.js';
import { featureIdFor } from '../../src/domain/feature-id.js';
import { PipelineError } from '../pipeline-error.js';
import { openSource } from './open-source.js';
import { createTransform, CrsError, reprojectGeometry, type PointTransform } from './reproject.js';
import type { PropertyValue, SourceFeature, SourceInfo } from './source-feature.js';
import { findGeometryProblem, geometryKindOf } from './validate-feature.js';

/** What ingest needs to know about a layer. */
export interface IngestOptions {
  source: string;
  crs?: string | undefined;
  encoding?: string | undefined;
  idField?: string | undefined;
  fields?: string[] | undefined;
  /** Called every few thousand features. */
  onProgress?: (featuresRead: number) => void;
}

/** A layer ready to tile: WGS 84 features with stable numeric ids. */
export interface IngestedLayer {
  features: Feature<Geometry, Record<string, PropertyValue>>[];
  fields: Record<string, FieldType>;
  geometryKind: GeometryKind;
  bounds: [number, number, number, number];
}

/** Reads, reprojects and validates a layer's source. Throws PipelineError naming file, feature and problem. */
export async function ingestLayer(options: IngestOptions): Promise<IngestedLayer> {
  const file = path.basename(options.source);
  const opened = await openSource(options.source, options.encoding);
  const transform = resolveTransform(opened.info, options, file);
  const acc = new LayerAccumulator(file, options);
  for await (const sf of opened.features) {
    acc.add(sf, transform);
    if (options.onProgress && acc.count % 5000 === 0) options.onProgress(acc.count);
  }
  return acc.finish();
}

function resolveTransform(info: SourceInfo, options: IngestOptions, file: string): PointTransform {
  const ext = path.extname(options.source).toLowerCase();
  const crs = options.crs ?? info.crs ?? (ext === '.shp' ? null : 'EPSG:4326');
  if (!crs) throw new PipelineError({ file }, 'no CRS: the shapefile has no .prj and the layer config sets no crs');
  try {
    return createTransform(crs);
  } catch (err) {
    const origin = options.crs ? 'the layer config' : info.crsOrigin;
    throw new PipelineError({ file }, `${(err as CrsError).message} (from ${origin})`);
  }
}

class LayerAccumulator {
  count = 0;
  private readonly features: IngestedLayer['features'] = [];
  private readonly fieldTypes = new Map<string, FieldType>();
  private readonly seenIds = new Map<number, string>();
  private kind: GeometryKind | null = null;
  private bounds: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];

  constructor(private readonly file: string, private readonly options: IngestOptions) {}

  add(sf: SourceFeature, transform: PointTransform): void {
    const idValue = this.options.idField ? sf.properties[this.options.idField] : undefined;
    const label = idValue !== undefined ? `${this.options.idField}=${String(idValue)}` : `#${sf.index}`;
    const fail = (problem: string): never => { throw new PipelineError({ file: this.file, feature: label }, problem); };
    if (!sf.geometry) fail('has no geometry');
    const geometry = reprojectGeometry(sf.geometry as Geometry, transform);
    const problem = findGeometryProblem(geometry);
    if (problem) fail(problem);
    this.kind = mergeKinds(this.kind, geometryKindOf(geometry), fail);
    const id = this.identify(idValue, sf.index, fail);
    const properties = this.selectFields(sf.properties);
    this.extendBounds(geometry);
    this.features.push({ type: 'Feature', id, geometry, properties });
    this.count++;
  }

  finish(): IngestedLayer {
    if (!this.features.length || !this.kind) throw new PipelineError({ file: this.file }, 'the source has no features');
    const fields: Record<string, FieldType> = {};
    const order = this.options.fields ?? [...this.fieldTypes.keys()];
    for (const name of order) {
      const type = this.fieldTypes.get(name);
      if (type) fields[name] = type;
    }
    return { features: this.features, fields, geometryKind: this.kind, bounds: this.bounds };
  }

  private identify(value: PropertyValue | undefined, index: number, fail: (p: string) => never): number {
    if (!this.options.idField) return index;
    if (value === undefined) fail(`has no value in the id field ${this.options.idField}`);
    const id = featureIdFor(value as PropertyValue);
    const other = this.seenIds.get(id);
    if (other !== undefined) fail(`duplicate id: ${this.options.idField}=${String(value)} was already used by feature ${other}`);
    this.seenIds.set(id, `#${index}`);
    return id;
  }

  private selectFields(props: Record<string, PropertyValue>): Record<string, PropertyValue> {
    const names = this.options.fields ?? Object.keys(props);
    const out: Record<string, PropertyValue> = {};
    for (const name of names) {
      const value = props[name];
      if (value === undefined) continue;
      out[name] = value;
      const type: FieldType = typeof value === 'number' ? 'Number' : typeof value === 'boolean' ? 'Boolean' : 'String';
      const known = this.fieldTypes.get(name);
      this.fieldTypes.set(name, known && known !== type ? 'String' : type);
    }
    return out;
  }

  private extendBounds(g: Geometry): void {
    const visit = (c: unknown): void => {
      if (Array.isArray(c) && typeof c[0] === 'number') {
        const [lon, lat] = c as [number, number];
        const b = this.bounds;
        if (lon < b[0]) b[0] = lon;
        if (lat < b[1]) b[1] = lat;
        if (lon > b[2]) b[2] = lon;
        if (lat > b[3]) b[3] = lat;
      } else if (Array.isArray(c)) c.forEach(visit);
    };
    if (g.type !== 'GeometryCollection') visit(g.coordinates);
  }
}

/**
 * Polygons and lines may share a layer (protection lines come as both; a polygon
 * style draws lines with its outline layer). Points mixed with either cannot be drawn
 * by one style, so that is refused.
 */
function mergeKinds(known: GeometryKind | null, next: GeometryKind, fail: (p: string) => never): GeometryKind {
  if (!known || known === next) return next;
  if (known === 'point' || next === 'point') return fail(`is a ${next} in a layer of ${known}s (mixed geometry types)`);
  return 'polygon';
}
