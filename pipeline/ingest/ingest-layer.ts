import path from 'node:path';
import { PipelineError } from '../pipeline-error.js';
import { LayerAccumulator, type ActiveCrs, type IngestedFeature, type LayerShape } from './layer-accumulator.js';
import { openSource } from './open-source.js';
import { explainCrsMismatch } from './explain-crs-mismatch.js';
import { createTransform } from './reproject.js';
import { CrsError, resolveCrs } from './resolve-crs.js';
import { normaliseFields, type FieldMapping, type FieldsSpec } from './select-fields.js';
import type { RecordsElsewhere } from './read-geojson-thread.js';
import { recordDigest, type RecordMemo } from './record-memo.js';
import type { RecordRecaller, SourceFeature, SourceInfo } from './source-feature.js';
import { resolvePolicies, type OnInvalid } from './validation-policy.js';

export type { IngestedFeature } from './layer-accumulator.js';

/** Most vertices one feature may have unless the layer sets maxVertices. */
export const DEFAULT_MAX_VERTICES = 500_000;
/** Longest text attribute kept in tiles, in characters. */
export const MAX_ATTRIBUTE_CHARS = 65_535;

/** What ingest needs to know about a layer (its config keys of the same names). */
export interface IngestOptions {
  source: string;
  crs?: string | undefined;
  /** The CRS of a source that states none (an upload's: the layer's configured crs); the file's own wins. */
  fallbackCrs?: string | undefined;
  encoding?: string | undefined;
  idField?: string | undefined;
  fields?: FieldsSpec | undefined;
  onInvalid?: OnInvalid | undefined;
  maxVertices?: number | undefined;
  /** The table inside a GeoPackage, or the Shapefile inside a zip. */
  sourceLayer?: string | undefined;
  /** Called every few thousand features read. */
  onProgress?: (featuresRead: number) => void;
  /**
   * Digests each record's bytes (GeoJSON, GeoJSONSeq, Shapefile and GeoPackage sources of layers with
   * an idField) and takes the records a previous ingest made into clean features from `memo`.
   */
  remember?: { memo: RecordMemo | null } | undefined;
  /** The source's records as another thread reads them (see ReaderOptions.elsewhere). */
  elsewhere?: RecordsElsewhere | undefined;
}

/** What ingest hands over for each kept record: a feature it made, or memo feature `recalled` taken as it is. */
export type IngestedRecord =
  | { feature: IngestedFeature; recalled?: undefined; digest: string | null; clean: boolean; length: number }
  | { recalled: number; digest: string; length: number };

/** What ingest learnt about a layer besides its features. */
export interface IngestSummary extends LayerShape {
  /** The CRS the source was read in, as messages name it. */
  crs: string;
  /** The attribute text encoding and where it came from, for formats that have a choice. */
  encoding: string | null;
  /** What a memo of this ingest must be made under to serve another (RecordMemo.context). */
  memoContext: string;
}

/** A layer ready to tile: WGS 84 features with stable numeric ids. */
export interface IngestedLayer extends IngestSummary {
  features: IngestedFeature[];
}

const PROGRESS_EVERY = 5000;

/**
 * Streams a layer's source through validation and reprojection, handing each kept
 * feature to `onFeature` without holding the source. Throws PipelineError naming
 * file, feature and problem.
 */
export async function ingestStream(options: IngestOptions, onRecord: (record: IngestedRecord) => void): Promise<IngestSummary> {
  const file = path.basename(options.source);
  let crs: ActiveCrs | null = null;
  let activeCrs = (): ActiveCrs => {
    throw new Error('no source is open');
  };
  const memo = options.remember?.memo ?? null;
  let memoServes: boolean | null = null;
  let memoContext = (): string => '';
  let last = -1; // the memo feature recalled last
  // The memo serves only records read under its context (CRS, table schema, encoding), known once a record arrives.
  const serves = (): boolean => (memoServes ??= memo !== null && memoContext() === memo.context);
  const accept = (digest: string, found: number): { digest: string; previous: number } => {
    const previous = serves() ? found : -1;
    if (previous >= 0) last = previous;
    return { digest, previous };
  };
  const recall: RecordRecaller | undefined = options.remember && options.idField !== undefined
    ? {
      recall: (raw) => {
        const digest = recordDigest(raw);
        return accept(digest, serves() ? (memo as RecordMemo).find(digest) : -1);
      },
      accept,
      nextLengths: () => {
        if (!memo || memoServes === false) return [];
        const lengths: number[] = [];
        for (let j = last + 1; j <= last + 2 && j < memo.count; j++) lengths.push(memo.length(j));
        return lengths;
      },
    }
    : undefined;
  const opened = await openSource(options.source, { encoding: options.encoding, sourceLayer: options.sourceLayer, crsFromConfig: options.crs !== undefined, recall, elsewhere: options.elsewhere });
  try {
    const fields = normaliseFields(options.fields);
    checkDeclaredFields(opened.info, options.idField, fields, file);
    activeCrs = () => (crs ??= resolveSourceCrs(opened.info, options, opened.info.label ?? file));
    memoContext = () => `${activeCrs().label}\u0000${opened.info.recordContext ?? ''}`;
    const acc = new LayerAccumulator(
      {
        file, idField: options.idField, fields, policies: resolvePolicies(options.onInvalid),
        maxVertices: options.maxVertices ?? DEFAULT_MAX_VERTICES, maxAttributeChars: MAX_ATTRIBUTE_CHARS,
      },
      activeCrs,
    );
    let read = 0;
    /** Takes one record; true every PROGRESS_EVERY records. */
    const take = (sf: SourceFeature): boolean => {
      if (sf.recalled && memo && acc.recall(sf.index, sf.recalled.previous, memo)) onRecord({ recalled: sf.recalled.previous, digest: sf.digest as string, length: sf.length ?? 0 });
      else {
        const feature = acc.process(sf.recalled ? sf.recalled.parse() : sf);
        if (feature) onRecord({ feature, digest: sf.digest ?? null, clean: !acc.lastWarned, length: sf.length ?? 0 });
      }
      if (++read % PROGRESS_EVERY !== 0) return false;
      options.onProgress?.(read);
      return true;
    };
    // Lets a server in the same process answer requests during a long read.
    const pause = (): Promise<unknown> => new Promise((resolve) => setImmediate(resolve));
    if (opened.batches) {
      for await (const batch of opened.batches) for (const sf of batch) if (take(sf)) await pause();
    } else for await (const sf of opened.features) if (take(sf)) await pause();
    const shape = acc.finish();
    return { ...shape, crs: (crs as ActiveCrs | null)?.label ?? '', encoding: opened.info.encoding?.() ?? null, memoContext: memoContext() };
  } finally {
    await opened.close();
  }
}

/** Reads, reprojects and validates a layer's source into memory. Throws PipelineError naming file, feature and problem. */
export async function ingestLayer(options: IngestOptions): Promise<IngestedLayer> {
  const features: IngestedFeature[] = [];
  const summary = await ingestStream({ ...options, remember: undefined }, (r) => {
    if (r.recalled === undefined) features.push(r.feature);
  });
  return { ...summary, features };
}

/** The layer config's crs, else the file's own, else an upload's fallback, else the format's default; a missing or unknown CRS is an error. */
function resolveSourceCrs(info: SourceInfo, options: Pick<IngestOptions, 'crs' | 'fallbackCrs'>, file: string): ActiveCrs {
  const configured = options.crs;
  let spec: string;
  let origin: string;
  if (configured !== undefined) [spec, origin] = [configured, 'the layer config'];
  else if (info.crs) [spec, origin] = [info.crs, info.crsOrigin];
  else if (options.fallbackCrs !== undefined) [spec, origin] = [options.fallbackCrs, 'the layer config, as the upload states no CRS'];
  else if (info.defaultCrs) [spec, origin] = [info.defaultCrs, 'the GeoJSON default, RFC 7946'];
  else throw new PipelineError({ file }, `no CRS: ${info.missingCrs ?? 'the source does not state one'} and the layer config sets no crs`);
  try {
    const resolved = resolveCrs(spec);
    const label = spec === info.defaultCrs && configured === undefined && !info.crs ? `${resolved.label}, the GeoJSON default` : resolved.label;
    return { label, area: resolved.area, transform: createTransform(resolved), explain: (x, y) => explainCrsMismatch(x, y, resolved) };
  } catch (err) {
    if (err instanceof CrsError) throw new PipelineError({ file }, `${err.message} (from ${origin})`);
    throw err;
  }
}

/** Sources with a schema (DBF, GeoPackage) must have the attributes the layer names. */
function checkDeclaredFields(info: SourceInfo, idField: string | undefined, fields: FieldMapping[] | null, file: string): void {
  if (!info.fieldNames) return;
  const names = new Set(info.fieldNames);
  const wanted: [string, string][] = [];
  if (idField !== undefined) wanted.push(['idField', idField]);
  for (const m of fields ?? []) wanted.push(['fields', m.from]);
  const missing = wanted.find(([, name]) => !names.has(name));
  if (missing) {
    const list = info.fieldNames.join(', ');
    throw new PipelineError({ file }, `the layer's ${missing[0]} names "${missing[1]}", which is not an attribute of the source (it has: ${list.length > 300 ? `${list.slice(0, 300)}…` : list})`);
  }
}
