import { createReadStream } from 'node:fs';
import path from 'node:path';
import { PipelineError } from '../pipeline-error.js';
import { normaliseCrsName } from './crs-registry.js';
import { decodeFeatureBytes, FeatureJsonError, MAX_FEATURE_BYTES, parseFeatureJson } from './parse-feature-json.js';
import { FeatureCollectionScanner, JsonScanError, type ScanEvent } from './scan-feature-collection.js';
import type { DigestedRecord } from './read-geojson-thread.js';
import { readTrailingCrs } from './read-trailing-crs.js';
import type { OpenedSource, ReaderOptions, RecordRecall, RecordRecaller, SourceFeature, SourceInfo } from './source-feature.js';

/** Opens a GeoJSON FeatureCollection file; features are streamed, the file is never held whole. */
export async function readGeojson(file: string, options: ReaderOptions): Promise<OpenedSource> {
  const name = path.basename(file);
  const info: SourceInfo = { crs: null, crsOrigin: `the crs member of ${name}`, defaultCrs: 'EPSG:4326', fieldNames: null };
  // Records a memo may recall may have been split and digested on another thread.
  const scan = options.elsewhere ?? scanHere(file, options.recall);
  const batches = readBatches(scan, file, info, options);
  return {
    info,
    features: (async function* () {
      for await (const batch of batches) yield* batch;
    })(),
    batches,
    close: async () => { scan.stop(); },
  };
}

/** A FeatureCollection split into scan events, a read at a time. */
interface RecordScan {
  batches: AsyncIterable<ScanEvent<DigestedRecord>[]>;
  /** Whether the document had a features array (once the batches ended). */
  sawFeatures(): boolean;
  stop(): void;
}

/** Splits the file on this thread, digesting and looking up records as it goes when ingest recalls them. */
function scanHere(file: string, recaller: RecordRecaller | undefined): RecordScan {
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  let handed = false;
  // A record starting with the bytes of a memo record is taken whole, unscanned: those bytes
  // were once scanned as one record. Not before a first feature was handed over, which
  // means the members before the features (the CRS) have been taken into account.
  const known = recaller ? (chunk: Buffer, at: number): DigestedRecord | null => {
    if (!handed) return null;
    for (const length of recaller.nextLengths()) {
      if (at + length > chunk.length || chunk[at + length - 1] !== 0x7d) continue;
      const found = recaller.recall(chunk.subarray(at, at + length));
      if (found.previous >= 0) return { length, ...found };
    }
    return null;
  } : undefined;
  // Records are looked up as soon as they are scanned, so the memo's place is known for the next one.
  const scanned = recaller ? (bytes: Buffer): DigestedRecord | undefined => (handed ? { length: bytes.length, ...recaller.recall(bytes) } : undefined) : undefined;
  const scanner = new FeatureCollectionScanner<DigestedRecord>(MAX_FEATURE_BYTES, { known, scanned });
  let saw = false;
  return {
    batches: (async function* () {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const events = scanner.feed(chunk);
        yield events;
        handed ||= events.some((e) => e.kind === 'feature');
      }
      saw = scanner.finish().sawFeatures;
    })(),
    sawFeatures: () => saw,
    stop: () => { stream.destroy(); },
  };
}

/**
 * The features of each read, made as the batch is iterated. Records digested on another
 * thread (`options.elsewhere`) were looked up there before ingest knew whether its memo
 * serves, which it decides now, in order.
 */
async function* readBatches(scan: RecordScan, file: string, info: SourceInfo, options: ReaderOptions): AsyncGenerator<Iterable<SourceFeature>> {
  const recaller = options.recall;
  const elsewhere = options.elsewhere !== undefined;
  let yielded = 0;
  // Whether the CRS the features are read by is known: from the layer config, a crs member before them, or one after them.
  let crsSettled = options.crsFromConfig;
  const fail = (problem: string, feature?: number): never => {
    throw new PipelineError({ file: path.basename(file), ...(feature === undefined ? {} : { feature: `#${feature}` }) }, problem);
  };
  try {
    const features = function* (events: ScanEvent<DigestedRecord>[]): Generator<SourceFeature> {
      for (const event of events) {
        if (event.kind === 'member') {
          takeMember(event, info, yielded > 0 && !options.crsFromConfig, fail);
          continue;
        }
        if (!recaller) yield toFeature(event.bytes, event.index, fail);
        else {
          const k = event.known;
          const found = k ? (elsewhere ? recaller.accept(k.digest, k.previous) : k) : recaller.recall(event.bytes);
          yield recallable(event.bytes, event.index, found, fail);
        }
        yielded++;
      }
    };
    for await (const events of scan.batches) {
      crsSettled ||= await settleCrs(events, file, info, fail);
      yield features(events);
    }
    if (!scan.sawFeatures()) fail('expected a GeoJSON FeatureCollection, found no "features" array');
  } catch (err) {
    if (err instanceof JsonScanError) fail(err.message, err.feature);
    throw err;
  }
}

function toFeature(bytes: Buffer, index: number, fail: (problem: string, feature?: number) => never): SourceFeature {
  try {
    return parseFeatureJson(decodeFeatureBytes(bytes), index);
  } catch (err) {
    if (err instanceof FeatureJsonError) return fail(err.message, index);
    throw err;
  }
}

/** A record with its digest: unparsed when a previous ingest already made it into a feature. */
function recallable(bytes: Buffer, index: number, found: RecordRecall, fail: (problem: string, feature?: number) => never): SourceFeature {
  const { digest, previous } = found;
  const parse = (): SourceFeature => {
    const feature = toFeature(bytes, index, fail);
    feature.digest = digest;
    feature.length = bytes.length;
    return feature;
  };
  return previous < 0 ? parse() : { index, geometry: null, properties: {}, digest, length: bytes.length, recalled: { previous, parse } };
}

/**
 * Before the first feature of `events` is read, looks for a crs member after the features
 * (at the end of the file) unless one came before them: the features are then read by it,
 * just as when it comes first. True once the CRS is settled.
 */
async function settleCrs(events: ScanEvent<DigestedRecord>[], file: string, info: SourceInfo, fail: (problem: string) => never): Promise<boolean> {
  for (const event of events) {
    if (event.kind === 'member' && event.key === 'crs') return true;
    if (event.kind !== 'feature') continue;
    const trailing = await readTrailingCrs(file);
    if (trailing.kind === 'crs') takeMember({ kind: 'member', key: 'crs', bytes: trailing.bytes }, info, false, fail);
    return true;
  }
  return false;
}

/** Takes the "type" or "crs" member; `afterFeatures`: features were read already, by `info.crs` (null: the GeoJSON default). */
function takeMember(event: Extract<ScanEvent, { kind: 'member' }>, info: SourceInfo, afterFeatures: boolean, fail: (problem: string) => never): void {
  let value: unknown;
  try {
    value = JSON.parse(decodeFeatureBytes(event.bytes));
  } catch (err) {
    fail(`the "${event.key}" member is not valid JSON: ${(err as Error).message}`);
  }
  if (event.key === 'type') {
    if (value !== 'FeatureCollection') {
      const found = typeof value === 'string' ? `a ${value}` : 'no type';
      fail(`expected a GeoJSON FeatureCollection, found ${found}`);
    }
    return;
  }
  const crs = crsName(value);
  if (crs === null && value !== null) fail('the "crs" member has no properties.name (expected {"type":"name","properties":{"name":"EPSG:4490"}})');
  if (!afterFeatures) info.crs = crs;
  // Normally found before the features were read (settleCrs); if not, it must name the CRS they were read by.
  else if (!sameCrs(crs, info.crs)) fail(lateCrsProblem(crs, info.crs));
}

/** Whether two crs names (null: the GeoJSON default) name the same CRS. */
function sameCrs(a: string | null, b: string | null): boolean {
  const norm = (name: string | null): string => (name === null ? 'EPSG:4326' : normaliseCrsName(name) ?? name.trim());
  return norm(a) === norm(b);
}

function lateCrsProblem(late: string | null, readBy: string | null): string {
  const named = late ?? 'null';
  if (readBy !== null) return `two "crs" members, one naming ${readBy} and one after the features naming ${named}: keep one`;
  return `the "crs" member (${named}) comes after the features, too far from the end of the file to be read before them, `
    + `so they were read as WGS 84, the GeoJSON default: set crs: ${named} in the layer config, or move "crs" before "features"`;
}

function crsName(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const props = (value as { properties?: unknown }).properties;
  if (typeof props !== 'object' || props === null) return null;
  const name = (props as { name?: unknown }).name;
  return typeof name === 'string' ? name : null;
}
