import type { Feature, Geometry, Position } from 'geojson';
import type { FieldType, GeometryKind } from '../../src/domain/catalog.js';
import { featureIdFor } from '../../src/domain/feature-id.js';
import { PipelineError } from '../pipeline-error.js';
import { IdMap } from '../tile/id-index.js';
import type { Area } from './crs-registry.js';
import { findSelfIntersection } from './find-self-intersection.js';
import { findStrayHole } from './find-stray-hole.js';
import type { RecordMemo } from './record-memo.js';
import { reprojectGeometry, type PointTransform } from './reproject.js';
import { selectFields, type FieldMapping } from './select-fields.js';
import type { PropertyValue, SourceFeature } from './source-feature.js';
import { checkArea, checkSourceGeometry, geometryKindOf } from './validate-feature.js';
import { actionFor, describeValidation, ValidationCollector, type InvalidPolicy, type Problem, type ProblemClass, type ValidationSummary } from './validation-policy.js';

/** A feature ready to tile: WGS 84 geometry, its MVT id (absent when a kept feature has none), published attributes. */
export type IngestedFeature = Feature<Geometry, Record<string, PropertyValue>>;

/** The CRS in use, resolved when the first feature arrives. */
export interface ActiveCrs {
  label: string;
  area: Area;
  transform: PointTransform;
  /** Says why source coordinates do not fit the CRS, when something stands out. */
  explain: (x: number, y: number) => string | null;
}

/** How the accumulator judges and shapes features. */
export interface AccumulatorOptions {
  /** The source's name in messages. */
  file: string;
  idField: string | undefined;
  fields: FieldMapping[] | null;
  policies: Record<ProblemClass, InvalidPolicy>;
  maxVertices: number;
  maxAttributeChars: number;
}

/** What the whole layer turned out to be. */
export interface LayerShape {
  fields: Record<string, FieldType>;
  geometryKind: GeometryKind;
  bounds: [number, number, number, number];
  featureCount: number;
  validation: ValidationSummary;
}

/** Judge for one feature: rejects (throws), skips, or keeps with warnings. */
class Verdict {
  warned = false;
  constructor(private readonly acc: LayerAccumulator, readonly label: string) {}

  /** True when the feature goes on (clean or kept with a warning). */
  allows(problem: Problem | null): boolean {
    return problem === null || this.acc.judge(this, problem);
  }
}

/** Validates, reprojects and identifies features one by one, keeping only what describes the layer. */
export class LayerAccumulator {
  private readonly collector = new ValidationCollector();
  private readonly fieldTypes = new Map<string, FieldType>();
  /** MVT id → source index of the feature that has it. */
  private readonly seenIds = new IdMap();
  private kind: GeometryKind | null = null;
  private count = 0;
  private readonly bounds: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];

  /** Whether the last feature process() kept had problems it was kept with. */
  lastWarned = false;
  /** The attribute signature of the memo feature recalled last. */
  private lastRecalledFields: readonly (readonly [string, FieldType])[] | null = null;

  constructor(private readonly options: AccumulatorOptions, private readonly crs: () => ActiveCrs) {}

  /**
   * Takes memo feature j (made from the same bytes by a previous ingest, where it was
   * clean) in place of the record at source position `index`. False when it cannot be
   * taken as it is (its id is taken, or its kind does not mix): then the record is
   * processed as read.
   */
  recall(index: number, j: number, memo: RecordMemo): boolean {
    const id = memo.id(j);
    if (this.options.idField === undefined || this.seenIds.get(id) >= 0) return false;
    const kind = mergeKinds(this.kind, memo.kind(j));
    if (!kind) return false;
    this.collector.countRead();
    this.collector.settle('clean');
    this.kind = kind;
    this.seenIds.set(id, index);
    // Runs of records share one attribute signature (the same list): noting it again changes nothing.
    const fields = memo.fields(j);
    if (fields !== this.lastRecalledFields) for (const [name, type] of fields) this.noteField(name, type);
    this.lastRecalledFields = fields;
    memo.extend(j, this.bounds);
    this.count++;
    return true;
  }

  /** The feature to tile, or null when it is skipped. Throws PipelineError when a problem's policy is reject. */
  process(sf: SourceFeature): IngestedFeature | null {
    this.collector.countRead();
    const { idField } = this.options;
    const idValue = idField ? sf.properties[idField] : undefined;
    const v = new Verdict(this, idValue !== undefined ? `${idField}=${String(idValue)}` : `#${sf.index}`);
    const kept = this.build(sf, idValue, v);
    this.lastWarned = v.warned;
    this.collector.settle(!kept ? 'skipped' : v.warned ? 'kept-with-problems' : 'clean');
    return kept;
  }

  /** Applies the policy of a problem's class; called through Verdict. */
  judge(v: Verdict, problem: Problem): boolean {
    const action = actionFor(problem.code, this.options.policies);
    if (action === 'reject') throw new PipelineError({ file: this.options.file, feature: v.label }, problem.message);
    this.collector.record(v.label, problem, action === 'skip' ? 'skipped' : 'kept');
    if (action === 'keep') v.warned = true;
    return action === 'keep';
  }

  private build(sf: SourceFeature, idValue: PropertyValue | undefined, v: Verdict): IngestedFeature | null {
    const props = { ...sf.properties };
    for (const p of sf.problems ?? []) {
      // Text that does not decode means the whole table is misread: never skipped.
      if (p.kind === 'undecodable-text') throw new PipelineError({ file: this.options.file, feature: v.label }, p.message);
      if (!v.allows({ code: 'bad-attribute', message: p.message })) return null;
    }
    if (!v.allows(checkSourceGeometry(sf.geometry, this.options.maxVertices))) return null;
    const crs = this.crs();
    const geometry = reprojectGeometry(sf.geometry as Geometry, crs.transform);
    if (!v.allows(withHint(checkArea(geometry, crs.area, crs.label), sf.geometry as Geometry, crs))) return null;
    // Where rings cross, inside and outside are not defined: the hole check waits for clean rings.
    if (!v.allows(findSelfIntersection(geometry) ?? findStrayHole(geometry))) return null;
    const kind = mergeKinds(this.kind, geometryKindOf(geometry));
    if (!kind && !v.allows({ code: 'mixed-type', message: `is a ${geometryKindOf(geometry)} in a layer of ${this.kind}s (mixed geometry types)` })) return null;
    const id = this.identify(idValue, sf.index, v);
    if (id === null) return null;
    const properties = selectFields(props, this.options.fields);
    if (!this.checkSizes(properties, v)) return null;
    this.commit(kind ?? (this.kind as GeometryKind), geometry, properties, id, sf.index);
    return { type: 'Feature', ...(id === undefined ? {} : { id }), geometry, properties };
  }

  /** The MVT id; undefined for a feature kept without one, null for a skipped feature. */
  private identify(value: PropertyValue | undefined, index: number, v: Verdict): number | undefined | null {
    const { idField } = this.options;
    if (!idField) return index;
    if (value === undefined) return v.allows({ code: 'missing-id', message: `has no value in the id field ${idField}` }) ? undefined : null;
    const id = featureIdFor(value);
    const other = this.seenIds.get(id);
    if (other < 0) return id;
    const problem: Problem = { code: 'duplicate-id', message: `duplicate id: ${idField}=${String(value)} was already used by feature #${other}` };
    return v.allows(problem) ? undefined : null;
  }

  private checkSizes(properties: Record<string, PropertyValue>, v: Verdict): boolean {
    for (const [name, value] of Object.entries(properties)) {
      if (typeof value !== 'string' || value.length <= this.options.maxAttributeChars) continue;
      const problem: Problem = { code: 'oversized-attribute', message: `attribute ${name} is ${value.length} characters long, over the limit of ${this.options.maxAttributeChars}` };
      if (!v.allows(problem)) return false;
      delete properties[name]; // kept with a warning: without the oversized value
    }
    return true;
  }

  private commit(kind: GeometryKind, geometry: Geometry, properties: Record<string, PropertyValue>, id: number | undefined, index: number): void {
    this.kind = kind;
    if (id !== undefined && this.options.idField) this.seenIds.set(id, index);
    for (const [name, value] of Object.entries(properties)) this.noteField(name, fieldTypeOf(value));
    this.extendBounds(geometry);
    this.count++;
  }

  private noteField(name: string, type: FieldType): void {
    const known = this.fieldTypes.get(name);
    if (known !== type) this.fieldTypes.set(name, known && known !== type ? 'String' : type);
  }

  /** The layer's fields, kind and bounds; throws when nothing is left to publish. */
  finish(): LayerShape {
    const validation = this.collector.result();
    if (!this.count || !this.kind) {
      if (!validation.read) throw new PipelineError({ file: this.options.file }, 'the source has no features');
      throw new PipelineError({ file: this.options.file }, `no features left: all ${validation.read} were skipped (${describeValidation(validation)})`);
    }
    const fields: Record<string, FieldType> = {};
    const order = this.options.fields?.map((m) => m.to) ?? [...this.fieldTypes.keys()];
    for (const name of order) {
      const type = this.fieldTypes.get(name);
      if (type) fields[name] = type;
    }
    return { fields, geometryKind: this.kind, bounds: this.bounds, featureCount: this.count, validation };
  }

  private extendBounds(g: Geometry): void {
    const b = this.bounds;
    const extend = (points: Position[]): void => {
      for (const p of points) {
        const lon = p[0] as number;
        const lat = p[1] as number;
        if (lon < b[0]) b[0] = lon;
        if (lat < b[1]) b[1] = lat;
        if (lon > b[2]) b[2] = lon;
        if (lat > b[3]) b[3] = lat;
      }
    };
    switch (g.type) {
      case 'Point': return extend([g.coordinates]);
      case 'MultiPoint':
      case 'LineString': return extend(g.coordinates);
      case 'MultiLineString':
      case 'Polygon': return g.coordinates.forEach(extend);
      case 'MultiPolygon': return g.coordinates.forEach((rings) => rings.forEach(extend));
      default: return undefined;
    }
  }
}

/** The type a property value gives its field. */
export function fieldTypeOf(value: PropertyValue): FieldType {
  return typeof value === 'number' ? 'Number' : typeof value === 'boolean' ? 'Boolean' : 'String';
}

/**
 * Polygons and lines may share a layer (protection lines come as both; a polygon
 * style draws lines with its outline layer). Points mixed with either cannot be drawn
 * by one style: null.
 */
function mergeKinds(known: GeometryKind | null, next: GeometryKind): GeometryKind | null {
  if (!known || known === next) return next;
  if (known === 'point' || next === 'point') return null;
  return 'polygon';
}

/** Adds the reason source coordinates left the CRS's area, judged from the first position. */
function withHint(problem: Problem | null, source: Geometry, crs: ActiveCrs): Problem | null {
  if (!problem || source.type === 'GeometryCollection') return problem;
  let c: unknown = source.coordinates;
  while (Array.isArray(c) && Array.isArray(c[0])) c = c[0];
  const [x, y] = Array.isArray(c) ? (c as number[]) : [];
  const hint = x === undefined || y === undefined ? null : crs.explain(x, y);
  return hint ? { ...problem, message: `${problem.message.replace(/: wrong CRS( or swapped axes)?\?$/, '')}: ${hint}` } : problem;
}
