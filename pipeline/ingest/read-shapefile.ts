import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PipelineError } from '../pipeline-error.js';
import { parseEncodingName, TextDecoderChecked, type EncodingChoice } from './decode-text.js';
import { FileWindow } from './file-window.js';
import { ShpRecordError, parseShpRecord } from './parse-shp-record.js';
import { DbfFormatError, decodeDbfRecord, parseDbfHeader, type DbfHeader } from './read-dbf.js';
import { recordDigest } from './record-memo.js';
import type { OpenedSource, ReaderOptions, RecordRecaller, SourceFeature } from './source-feature.js';

const SHP_FILE_CODE = 9994;
/** The first byte of a .dbf record marked deleted. */
const DELETED = 0x2a;

/** The files of one Shapefile, found case-insensitively beside the .shp. */
interface ShapefileParts {
  shp: string;
  shx: string | null;
  dbf: string | null;
  prj: string | null;
  cpg: string | null;
}

/** Opens a Shapefile: .shp with its .shx and .dbf (required), .prj and .cpg (optional) beside it. */
export async function readShapefile(shpPath: string, options: ReaderOptions): Promise<OpenedSource> {
  const name = path.basename(shpPath);
  const parts = await findParts(shpPath);
  const fail = (problem: string): never => { throw new PipelineError({ file: name }, problem); };
  if (!parts.shx) fail('the .shx index is missing (a Shapefile needs its .shp, .shx and .dbf side by side)');
  if (!parts.dbf) fail('the .dbf attribute table is missing (a Shapefile needs its .shp, .shx and .dbf side by side)');
  const prj = parts.prj ? (await readFile(parts.prj, 'utf8')).trim() : null;
  const encoding = await chooseEncoding(options.encoding, parts.cpg, name);
  const decoder = new TextDecoderChecked(encoding);
  const shp = await FileWindow.open(shpPath);
  const shx = await FileWindow.open(parts.shx as string);
  const dbf = await FileWindow.open(parts.dbf as string);
  const close = async (): Promise<void> => { await Promise.all([shp.close(), shx.close(), dbf.close()]); };
  try {
    await checkShpHeader(shp, name);
    const shapes = shapeCount(shx, name);
    const { header, bytes: headerBytes } = await readDbfHeader(dbf, path.basename(parts.dbf as string), decoder);
    if (header.records !== shapes) {
      fail(`the .dbf has ${header.records} records but the .shx indexes ${shapes} shapes: the files do not belong together or one is truncated`);
    }
    return {
      info: {
        crs: prj || null,
        crsOrigin: parts.prj ? path.basename(parts.prj) : 'no .prj',
        missingCrs: parts.prj ? `its ${path.basename(parts.prj)} is empty` : 'the shapefile has no .prj',
        fieldNames: header.fields.map((f) => f.name),
        encoding: () => decoder.describe(),
        // A record's bytes read the same under the same table header and a text encoding not left to detection.
        recordContext: encoding.encoding ? `${encoding.encoding}\u0000${recordDigest(schemaOf(headerBytes))}` : undefined,
      },
      // Records are recalled only when the encoding is fixed: detection goes by the first text it decodes.
      features: iterate({
        shp, shx, dbf, header, decoder, shapes, name, dbfName: path.basename(parts.dbf as string), recall: encoding.encoding ? options.recall : undefined,
      }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function findParts(shpPath: string): Promise<ShapefileParts> {
  const dir = path.dirname(shpPath);
  const stem = path.basename(shpPath, path.extname(shpPath)).toLowerCase();
  const entries = await readdir(dir);
  const find = (ext: string): string | null => {
    const hit = entries.find((e) => e.toLowerCase() === `${stem}.${ext}`);
    return hit ? path.join(dir, hit) : null;
  };
  return { shp: shpPath, shx: find('shx'), dbf: find('dbf'), prj: find('prj'), cpg: find('cpg') };
}

async function chooseEncoding(configured: string | undefined, cpgPath: string | null, file: string): Promise<EncodingChoice> {
  if (configured) {
    const encoding = parseEncodingName(configured);
    if (!encoding) throw new PipelineError({ file }, `unsupported text encoding "${configured}" in the layer config (use GBK, GB18030 or UTF-8)`);
    return { encoding, origin: 'from the layer config' };
  }
  if (cpgPath) {
    // A .cpg saved by Windows Notepad starts with a UTF-8 byte-order mark (read as latin1: ï»¿).
    const text = (await readFile(cpgPath, 'latin1')).replace(/^\u00ef\u00bb\u00bf/, '').trim();
    const cpg = path.basename(cpgPath);
    const encoding = parseEncodingName(text);
    if (!encoding) throw new PipelineError({ file: cpg }, `unsupported text encoding "${text.slice(0, 40)}" (use GBK, GB18030 or UTF-8, or set the layer's encoding)`);
    return { encoding, origin: `from ${cpg}` };
  }
  return { encoding: null, origin: 'detected from the data' };
}

async function checkShpHeader(shp: FileWindow, name: string): Promise<void> {
  const header = await shp.readAt(0, 100);
  if (header.length < 100) throw new PipelineError({ file: name }, `is ${shp.size} bytes, too short for a Shapefile header (truncated?)`);
  const code = header.readInt32BE(0);
  if (code !== SHP_FILE_CODE) throw new PipelineError({ file: name }, `is not a Shapefile (file code ${code}, expected ${SHP_FILE_CODE})`);
}

function shapeCount(shx: FileWindow, name: string): number {
  const body = shx.size - 100;
  if (body < 0 || body % 8 !== 0) throw new PipelineError({ file: name }, `the .shx index is damaged (${shx.size} bytes is not a header plus whole records)`);
  return body / 8;
}

/** The .dbf header without its date of last update and record count (bytes 1–7), which every edit changes. */
function schemaOf(header: Buffer): Buffer {
  const schema = Buffer.from(header);
  schema.fill(0, 1, Math.min(8, schema.length));
  return schema;
}

async function readDbfHeader(dbf: FileWindow, dbfName: string, decoder: TextDecoderChecked): Promise<{ header: DbfHeader; bytes: Buffer }> {
  const head = await dbf.readAt(0, 32);
  const length = head.length >= 10 ? head.readUInt16LE(8) : 0;
  const bytes = Buffer.from(await dbf.readAt(0, Math.max(length, 32)));
  try {
    return { header: parseDbfHeader(bytes, decoder), bytes };
  } catch (err) {
    if (err instanceof DbfFormatError) throw new PipelineError({ file: dbfName }, err.message);
    throw err;
  }
}

interface Tables {
  shp: FileWindow;
  shx: FileWindow;
  dbf: FileWindow;
  header: DbfHeader;
  decoder: TextDecoderChecked;
  shapes: number;
  name: string;
  dbfName: string;
  recall: RecordRecaller | undefined;
}

async function* iterate(t: Tables): AsyncGenerator<SourceFeature> {
  for (let index = 0; index < t.shapes; index++) {
    const fail = (problem: string): never => { throw new PipelineError({ file: t.name, feature: `#${index}` }, problem); };
    const entry = await t.shx.readAt(100 + 8 * index, 8);
    if (entry.length < 8) fail('the .shx index ends early');
    const offset = entry.readInt32BE(0) * 2;
    const length = entry.readInt32BE(4) * 2;
    // A record lies after the 100-byte header and holds at least its shape type: anything else
    // is the index's fault, not a geometry problem (which a layer may choose to skip).
    if (offset < 100 || length < 4 || length > t.shp.size) fail(`the .shx index is damaged at record ${index + 1} (offset ${offset}, length ${length})`);
    const recordHeader = await t.shp.readAt(offset, 8);
    if (recordHeader.length < 8 || offset + 8 + length > t.shp.size) {
      fail(`the .shp ends at byte ${t.shp.size}, before record ${index + 1} of ${t.shapes} (truncated?)`);
    }
    const content = await t.shp.readAt(offset + 8, length);
    const recordBytes = await t.dbf.readAt(t.header.headerLength + index * t.header.recordLength, t.header.recordLength);
    if (recordBytes.length < t.header.recordLength) {
      throw new PipelineError({ file: t.dbfName, feature: `#${index}` }, `the .dbf ends before record ${index + 1} of ${t.shapes} (truncated?)`);
    }
    // A record marked deleted in the .dbf is not part of the layer (as GDAL reads it).
    if (recordBytes[0] === DELETED) continue;
    const parse = (): SourceFeature => {
      let geometry: unknown;
      try {
        geometry = parseShpRecord(content);
      } catch (err) {
        if (err instanceof ShpRecordError) fail(err.message);
        throw err;
      }
      const record = decodeDbfRecord(recordBytes, t.header, t.decoder, t.dbfName);
      return { index, geometry, properties: record.values, problems: record.problems };
    };
    if (!t.recall) {
      yield parse();
      continue;
    }
    // The record is its shape and its row together.
    const raw = Buffer.concat([content, recordBytes]);
    const { digest, previous } = t.recall.recall(raw);
    const described = { digest, length: raw.length };
    yield previous >= 0
      ? { index, geometry: null, properties: {}, ...described, recalled: { previous, parse: () => ({ ...parse(), ...described }) } }
      : { ...parse(), ...described };
  }
}
