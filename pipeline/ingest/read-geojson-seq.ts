import { createReadStream } from 'node:fs';
import path from 'node:path';
import { PipelineError } from '../pipeline-error.js';
import { decodeFeatureBytes, FeatureJsonError, MAX_FEATURE_BYTES, parseFeatureJson } from './parse-feature-json.js';
import type { OpenedSource, ReaderOptions, SourceFeature } from './source-feature.js';

const NEWLINE = 0x0a;
const RECORD_SEPARATOR = 0x1e;

/**
 * Opens newline-delimited GeoJSON (GeoJSONSeq, one Feature per line; RFC 8142's
 * record-separator prefix accepted). Lines are read one by one, never the whole file.
 */
export async function readGeojsonSeq(file: string, options: Pick<ReaderOptions, 'recall'> = {}): Promise<OpenedSource> {
  const name = path.basename(file);
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  return {
    info: { crs: null, crsOrigin: name, defaultCrs: 'EPSG:4326', fieldNames: null },
    features: iterate(stream, name, options.recall),
    close: async () => { stream.destroy(); },
  };
}

async function* iterate(stream: AsyncIterable<Buffer>, name: string, recall: ReaderOptions['recall']): AsyncGenerator<SourceFeature> {
  let index = 0;
  try {
    for await (const { bytes, line, unterminated } of splitLines(stream)) {
      const feature = parseLine(bytes, index, line, name, recall, unterminated);
      if (!feature) continue;
      yield feature;
      index++;
    }
  } catch (err) {
    if (err instanceof FeatureJsonError) throw new PipelineError({ file: name, feature: `#${index}` }, err.message);
    throw err;
  }
}

function parseLine(bytes: Buffer, index: number, line: number, name: string, recall: ReaderOptions['recall'], unterminated: boolean): SourceFeature | null {
  let start = 0;
  let end = bytes.length;
  // A byte-order mark starts the file, or any line of files joined end to end.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  while (start < end && (bytes[start] === RECORD_SEPARATOR || bytes[start] === 0x20 || bytes[start] === 0x09)) start++;
  while (end > start && ((bytes[end - 1] as number) <= 0x20)) end--;
  if (start === end) return null;
  const record = bytes.subarray(start, end);
  const parse = (): SourceFeature => {
    try {
      return parseFeatureJson(decodeFeatureBytes(record), index);
    } catch (err) {
      if (!(err instanceof FeatureJsonError)) throw err;
      const hint = unterminated && err.message.startsWith('is not valid JSON') ? ' (the last line, with no newline after it: truncated?)' : '';
      throw new PipelineError({ file: name, feature: `#${index}` }, `line ${line} ${err.message}${hint}`);
    }
  };
  if (!recall) return parse();
  const { digest, previous } = recall.recall(record);
  const length = record.length;
  if (previous >= 0) return { index, geometry: null, properties: {}, digest, length, recalled: { previous, parse: () => ({ ...parse(), digest, length }) } };
  const feature = parse();
  feature.digest = digest;
  feature.length = length;
  return feature;
}

/** Splits a byte stream into lines, refusing a line longer than the per-feature limit as soon as it gets there. */
async function* splitLines(stream: AsyncIterable<Buffer>): AsyncGenerator<{ bytes: Buffer; line: number; unterminated: boolean }> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let line = 1;
  for await (const chunk of stream) {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      const bytes = pendingLength ? Buffer.concat([...pending, piece], pendingLength + piece.length) : piece;
      pending = [];
      pendingLength = 0;
      yield { bytes, line, unterminated: false };
      line++;
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingLength += chunk.length - start;
      if (pendingLength > MAX_FEATURE_BYTES) {
        throw new FeatureJsonError(`line ${line} is more than ${MAX_FEATURE_BYTES / 2 ** 20} MiB, over the limit per feature`);
      }
    }
  }
  if (pendingLength) yield { bytes: Buffer.concat(pending, pendingLength), line, unterminated: true };
}
