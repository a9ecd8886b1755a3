// A GeoJSON FeatureCollection's records split, digested and looked up in the memo on
// another thread (an idle tiling thread, while the publishing thread takes the records).
// Of a republish's ingest, splitting the file and digesting each record is the larger
// half: done there, it overlaps what this thread does with each record (recall it from
// the memo, or parse it) instead of preceding it, on a core that would otherwise wait.
// The split and the lookups are the same as on one thread (read-geojson.ts), and so are
// the records, errors and members this thread sees, in the same order.
import { closeSync, openSync, readSync } from 'node:fs';
import type { MessagePort, Worker } from 'node:worker_threads';
import { DIGEST_CHARS, DigestIndex } from './digest-index.js';
import { MAX_FEATURE_BYTES } from './parse-feature-json.js';
import { recordDigest } from './record-memo.js';
import { SourceHash } from './source-hash.js';
import { FeatureCollectionScanner, JsonScanError, type ScanEvent } from './scan-feature-collection.js';

/** A record digested as it was split, and the memo feature with that digest (-1: none), before ingest decides whether the memo serves. */
export interface DigestedRecord {
  length: number;
  digest: string;
  previous: number;
}

/** What the reading thread is asked: the file, the memo's record digests and lengths, and the control words it shares with the taker. */
export interface ReadRequest {
  file: string;
  digests: Uint8Array;
  lengths: Int32Array;
  /** [batches taken by the taker, 1 once the taker stopped] */
  control: Int32Array;
}

/** One read of the file, split: its records (a view of `chunk`, or of `spans` for those that began in an earlier read) and the members around them. */
interface RecordBatch {
  type: 'records';
  chunk: Uint8Array;
  /** Bytes of the file in `chunk` (from its start): the read, in file order. */
  length: number;
  /** Per record: 0 (in chunk) or 1 (in spans), start, length, memo feature found (-1: none). */
  records: Int32Array;
  /** Per record, its digest (DIGEST_CHARS latin1 bytes). */
  digests: Uint8Array;
  spans: Uint8Array;
  /** The "type" and "crs" members, each before record `at` of the batch. */
  members: { at: number; key: 'type' | 'crs'; bytes: Uint8Array }[];
}

/** Messages from the reading thread (they carry no job id, so a tiling job's listener passes them by). */
export type ReaderMessage =
  | RecordBatch
  | { type: 'records-end'; sawFeatures: boolean }
  | { type: 'records-failed'; message: string; feature?: number | undefined; scan: boolean };

const TAKEN = 0;
const STOPPED = 1;
/** Reads the reading thread may be ahead of the taker: memory stays bounded when the taker is slower. */
const AHEAD = 8;
const CHUNK = 1 << 20;
const FIELDS = 4;

/** The reading thread's side: splits, digests and looks up the file's records, and posts them a read at a time. */
export function readRecordsHere(port: MessagePort, request: ReadRequest): void {
  const { lengths, control } = request;
  const index = new DigestIndex(request.digests, lengths.length);
  let last = -1; // the memo feature found last
  const lookup = (raw: Uint8Array, expected = last + 1): DigestedRecord => {
    const digest = recordDigest(raw);
    const previous = index.findAt(digest, expected);
    if (previous >= 0) last = previous;
    return { length: raw.length, digest, previous };
  };
  // Bytes as long as one of the records that followed the last one found, and digesting
  // to a memo record, were once read as one whole record: taken without scanning them.
  const known = (chunk: Buffer, at: number): DigestedRecord | null => {
    for (let j = last + 1; j <= last + 2 && j < lengths.length; j++) {
      const length = lengths[j] as number;
      if (at + length > chunk.length || chunk[at + length - 1] !== 0x7d) continue;
      const found = lookup(chunk.subarray(at, at + length), j);
      if (found.previous >= 0) return found;
    }
    return null;
  };
  const scanner = new FeatureCollectionScanner<DigestedRecord>(MAX_FEATURE_BYTES, { known, scanned: (bytes) => lookup(bytes) });
  let fd = -1;
  try {
    fd = openSync(request.file, 'r');
    for (let sent = 0; ; sent++) {
      for (;;) {
        const taken = Atomics.load(control, TAKEN);
        if (Atomics.load(control, STOPPED) || sent - taken < AHEAD) break;
        Atomics.wait(control, TAKEN, taken, 1000);
      }
      if (Atomics.load(control, STOPPED)) return;
      const chunk = Buffer.allocUnsafeSlow(CHUNK);
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) break;
      const batch = batchOf(scanner.feed(chunk.subarray(0, n)), chunk, n);
      port.postMessage(batch, [chunk.buffer, batch.records.buffer, batch.digests.buffer, batch.spans.buffer] as ArrayBuffer[]);
    }
    port.postMessage({ type: 'records-end', sawFeatures: scanner.finish().sawFeatures } satisfies ReaderMessage);
  } catch (err) {
    const scan = err instanceof JsonScanError;
    port.postMessage({ type: 'records-failed', message: (err as Error).message, feature: scan ? err.feature : undefined, scan } satisfies ReaderMessage);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function batchOf(events: ScanEvent<DigestedRecord>[], chunk: Buffer, length: number): RecordBatch {
  const features = events.filter((e) => e.kind === 'feature');
  const records = new Int32Array(features.length * FIELDS);
  const digests = new Uint8Array(features.length * DIGEST_CHARS);
  const digestText = Buffer.from(digests.buffer);
  const spanBytes = features.reduce((sum, e) => sum + (e.bytes.buffer === chunk.buffer ? 0 : e.bytes.length), 0);
  const spans = new Uint8Array(spanBytes);
  const members: RecordBatch['members'] = [];
  let k = 0;
  let s = 0;
  for (const e of events) {
    if (e.kind === 'member') {
      members.push({ at: k, key: e.key, bytes: new Uint8Array(e.bytes) });
      continue;
    }
    const found = e.known as DigestedRecord;
    const inChunk = e.bytes.buffer === chunk.buffer;
    records[k * FIELDS] = inChunk ? 0 : 1;
    records[k * FIELDS + 1] = inChunk ? e.bytes.byteOffset - chunk.byteOffset : s;
    records[k * FIELDS + 2] = e.bytes.length;
    records[k * FIELDS + 3] = found.previous;
    if (!inChunk) {
      spans.set(e.bytes, s);
      s += e.bytes.length;
    }
    digestText.write(found.digest, k * DIGEST_CHARS, DIGEST_CHARS, 'latin1');
    k++;
  }
  return { type: 'records', chunk, length, records, digests, spans, members };
}

/** The taking thread's side: the records of `file` as the reading thread splits them. */
export interface RecordsElsewhere {
  /** Scan events a read at a time, in order; a scan error is thrown as a JsonScanError, where it occurs. */
  batches: AsyncIterable<ScanEvent<DigestedRecord>[]>;
  /** Whether the document had a features array (once the batches ended). */
  sawFeatures(): boolean;
  /**
   * The source's content hash (SourceHash) of the bytes the batches came from, once they
   * ended: the file as this ingest read it, hashed as it arrives. Null before, or when
   * the reading stopped early.
   */
  sourceHash(): string | null;
  /** Tells the reading thread to stop (the taker failed, or is done). */
  stop(): void;
}

/**
 * Starts reading `file`'s records on `worker` (a tiling thread not yet set up), with the
 * memo's record digests and lengths, whose buffers are moved to it (they are of no use here).
 */
export function readRecordsElsewhere(worker: Worker, file: string, memo: { digests: Uint8Array; lengths: Int32Array }): RecordsElsewhere {
  const control = new Int32Array(new SharedArrayBuffer(8));
  const queue: ReaderMessage[] = [];
  let wake: (() => void) | null = null;
  let lost: Error | null = null;
  let saw = false;
  // The taker hashes the reads it is handed (the reading thread is the busier one): one read of the file serves both.
  const hash = new SourceHash();
  hash.beginFile(file);
  let hashed: string | null = null;
  const onMessage = (msg: { type?: string }): void => {
    if (msg.type !== 'records' && msg.type !== 'records-end' && msg.type !== 'records-failed') return;
    queue.push(msg as ReaderMessage);
    wake?.();
  };
  const onError = (err: Error): void => {
    lost ??= err;
    wake?.();
  };
  const onExit = (code: number): void => onError(new Error(`the thread reading the source exited with code ${code}`));
  worker.on('message', onMessage);
  worker.on('error', onError);
  worker.on('exit', onExit);
  const stop = (): void => {
    Atomics.store(control, STOPPED, 1);
    Atomics.notify(control, TAKEN);
    worker.off('message', onMessage);
    worker.off('error', onError);
    worker.off('exit', onExit);
  };
  const { digests, lengths } = memo;
  const request: ReadRequest = { file, digests, lengths, control };
  worker.postMessage({ type: 'read', request }, [digests.buffer, lengths.buffer] as ArrayBuffer[]);
  async function* batches(): AsyncGenerator<ScanEvent<DigestedRecord>[]> {
    let index = 0;
    try {
      for (;;) {
        while (!queue.length && !lost) await new Promise<void>((resolve) => { wake = resolve; });
        wake = null;
        const msg = queue.shift();
        if (!msg) throw lost as unknown as Error;
        if (msg.type === 'records-end') {
          saw = msg.sawFeatures;
          hash.endFile();
          hashed = hash.digest();
          return;
        }
        if (msg.type === 'records-failed') throw msg.scan ? new JsonScanError(msg.message, msg.feature) : new Error(msg.message);
        Atomics.add(control, TAKEN, 1);
        Atomics.notify(control, TAKEN);
        hash.update(msg.chunk.subarray(0, msg.length));
        const events = eventsOf(msg, index);
        index += msg.records.length / FIELDS;
        yield events;
      }
    } finally {
      stop();
    }
  }
  return { batches: batches(), sawFeatures: () => saw, sourceHash: () => hashed, stop };
}

function eventsOf(batch: RecordBatch, first: number): ScanEvent<DigestedRecord>[] {
  const view = (a: Uint8Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const chunk = view(batch.chunk);
  const spans = view(batch.spans);
  const digests = view(batch.digests);
  const { records, members } = batch;
  const n = records.length / FIELDS;
  const events: ScanEvent<DigestedRecord>[] = [];
  let m = 0;
  for (let k = 0; k <= n; k++) {
    for (; m < members.length && (members[m] as RecordBatch['members'][number]).at === k; m++) {
      const member = members[m] as RecordBatch['members'][number];
      events.push({ kind: 'member', key: member.key, bytes: view(member.bytes) });
    }
    if (k === n) break;
    const start = records[k * FIELDS + 1] as number;
    const length = records[k * FIELDS + 2] as number;
    const bytes = (records[k * FIELDS] === 0 ? chunk : spans).subarray(start, start + length);
    const digest = digests.toString('latin1', k * DIGEST_CHARS, (k + 1) * DIGEST_CHARS);
    events.push({ kind: 'feature', index: first + k, bytes, known: { length, digest, previous: records[k * FIELDS + 3] as number } });
  }
  return events;
}
