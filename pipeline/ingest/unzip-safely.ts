import { isUtf8 } from 'node:buffer';
import { createWriteStream } from 'node:fs';
import { crc32 } from 'node:zlib';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import iconv from 'iconv-lite';
import yauzl from 'yauzl';
import { PipelineError } from '../pipeline-error.js';

/** Bounds on what a zip may unpack to. */
export interface UnzipLimits {
  /** Most entries (files and folders). */
  maxEntries: number;
  /** Most bytes unpacked in all. */
  maxTotalBytes: number;
  /** Highest uncompressed:compressed ratio of an entry over 1 MiB, and of the whole archive. */
  maxRatio: number;
}

/** Limits for layer sources: generous for real Shapefiles, far below a zip bomb. */
export const DEFAULT_UNZIP_LIMITS: UnzipLimits = { maxEntries: 10_000, maxTotalBytes: 8 * 2 ** 30, maxRatio: 200 };

const SMALL_ENTRY = 1 << 20;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

interface CheckedEntry {
  entry: yauzl.Entry;
  /** Safe relative path with "/" separators. */
  name: string;
  directory: boolean;
}

/**
 * Unpacks a zip into destDir after checking every entry first: no absolute paths,
 * no "..", no symbolic links, no encryption, and the entry count, total size and
 * compression ratio within limits (sizes are enforced again while writing, so a
 * lying header gains nothing). Returns the unpacked files' relative paths.
 * Throws PipelineError naming the zip and the entry.
 */
export async function unzipSafely(zipFile: string, destDir: string, limits: UnzipLimits = DEFAULT_UNZIP_LIMITS): Promise<string[]> {
  const zipName = path.basename(zipFile);
  const fail = (problem: string): never => { throw new PipelineError({ file: zipName }, problem); };
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(zipFile);
  } catch (err) {
    return fail(`is not a readable zip archive: ${(err as Error).message}`);
  }
  try {
    const entries = await checkEntries(zip, limits, fail);
    const root = path.resolve(destDir);
    await mkdir(root, { recursive: true });
    let written = 0;
    const files: string[] = [];
    for (const { entry, name, directory } of entries) {
      const target = path.resolve(root, name);
      if (!target.startsWith(root + path.sep)) fail(`entry "${name}" would unpack outside the target folder`);
      if (directory) {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      const counter = new EntryCheck(
        limits.maxTotalBytes - written, entry.crc32,
        () => fail(`unpacks to more than ${limits.maxTotalBytes} bytes`),
        () => fail(`entry "${name}" is damaged: its CRC-32 does not match (the archive was corrupted, in transfer or on disk)`),
      );
      try {
        await pipeline(await openEntry(zip, entry), counter, createWriteStream(target, { flags: 'wx' }));
      } catch (err) {
        if (err instanceof PipelineError) throw err;
        fail(`entry "${name}" cannot be unpacked: ${(err as Error).message}`);
      }
      written += counter.bytes;
      files.push(name);
    }
    return files;
  } finally {
    zip.close();
  }
}

async function checkEntries(zip: yauzl.ZipFile, limits: UnzipLimits, fail: (p: string) => never): Promise<CheckedEntry[]> {
  const entries: CheckedEntry[] = [];
  let total = 0;
  let compressed = 0;
  const seen = new Set<string>();
  for await (const entry of readEntriesOf(zip, fail)) {
    if (entries.length >= limits.maxEntries) fail(`holds more than ${limits.maxEntries} entries`);
    const raw = decodeName(entry);
    const name = safeName(raw, fail);
    const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
    if (mode === S_IFLNK) fail(`entry "${raw}" is a symbolic link, which is not accepted`);
    if (entry.generalPurposeBitFlag & 0x1) fail(`entry "${raw}" is encrypted`);
    const directory = raw.endsWith('/') || raw.endsWith('\\');
    const key = name.toLowerCase();
    if (!directory && seen.has(key)) fail(`entry "${raw}" appears twice`);
    seen.add(key);
    const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
    if (entry.uncompressedSize > SMALL_ENTRY && ratio > limits.maxRatio) {
      fail(`entry "${raw}" expands ${Math.round(ratio)}:1, more than the ${limits.maxRatio}:1 a real file does (zip bomb?)`);
    }
    total += entry.uncompressedSize;
    compressed += entry.compressedSize;
    if (total > limits.maxTotalBytes) fail(`unpacks to more than ${limits.maxTotalBytes} bytes`);
    entries.push({ entry, name, directory });
  }
  if (total > SMALL_ENTRY && total / Math.max(1, compressed) > limits.maxRatio) fail(`expands ${Math.round(total / Math.max(1, compressed))}:1 overall (zip bomb?)`);
  return entries;
}

/** Entry names are UTF-8 when flagged (or valid UTF-8), else GBK, as Chinese Windows zip tools write them. */
function decodeName(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  if (typeof raw === 'string') return raw;
  if (entry.generalPurposeBitFlag & 0x800 || isUtf8(raw)) return raw.toString('utf8');
  return iconv.decode(raw, 'gbk');
}

function safeName(raw: string, fail: (p: string) => never): string {
  const name = raw.replace(/\\/g, '/');
  if (name.includes('\0')) fail(`entry "${raw}" has a NUL character in its name`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) fail(`entry "${raw}" has an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) fail(`entry "${raw}" climbs out of the archive with ".."`);
  if (!parts.length) fail(`entry "${raw}" has an empty name`);
  return parts.join('/');
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false }, (err, zip) => {
      if (err || !zip) reject(err ?? new Error('no zip'));
      else resolve(zip);
    });
  });
}

/** The entries; one yauzl refuses (its sizes or flags contradict each other) fails naming the zip. */
async function* readEntriesOf(zip: yauzl.ZipFile, fail: (p: string) => never): AsyncGenerator<yauzl.Entry> {
  try {
    yield* readEntries(zip);
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    fail(`is not a readable zip archive: ${(err as Error).message}`);
  }
}

async function* readEntries(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
      const onEntry = (e: yauzl.Entry): void => { cleanup(); resolve(e); };
      const onEnd = (): void => { cleanup(); resolve(null); };
      const onError = (e: Error): void => { cleanup(); reject(e); };
      const cleanup = (): void => { zip.off('entry', onEntry); zip.off('end', onEnd); zip.off('error', onError); };
      zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
      zip.readEntry();
    });
    if (!entry) return;
    yield entry;
  }
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) reject(err ?? new Error('no stream'));
      else resolve(stream);
    });
  });
}

/**
 * Passes an entry's bytes through, failing once more than `limit` went by, and at the
 * end when their CRC-32 is not the one the archive recorded (yauzl does not check it).
 */
class EntryCheck extends Transform {
  bytes = 0;
  private crc = 0;
  constructor(private readonly limit: number, private readonly expectedCrc: number, private readonly onOver: () => never, private readonly onDamaged: () => never) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      failWith(this.onOver, done);
      return;
    }
    this.crc = crc32(chunk, this.crc);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.crc >>> 0 !== this.expectedCrc >>> 0) failWith(this.onDamaged, done);
    else done();
  }
}

/** Hands the error `fail` throws to a stream callback. */
function failWith(fail: () => never, done: TransformCallback): void {
  try {
    fail();
  } catch (err) {
    done(err as Error);
  }
}
