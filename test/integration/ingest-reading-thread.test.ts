import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parcelRing, seededRandom } from '../../bench/generate-parcels.js';
import { DIGEST_CHARS } from '../../pipeline/ingest/digest-index.js';
import { MAX_FEATURE_BYTES } from '../../pipeline/ingest/parse-feature-json.js';
import { readRecordsElsewhere, type DigestedRecord } from '../../pipeline/ingest/read-geojson-thread.js';
import { hashSource, SourceFingerprinting } from '../../pipeline/jobs/fingerprint-source.js';
import { recordDigest } from '../../pipeline/ingest/record-memo.js';
import { FeatureCollectionScanner, JsonScanError, type ScanEvent } from '../../pipeline/ingest/scan-feature-collection.js';
import { publishLayer } from '../../pipeline/publish/publish-layer.js';
import { TilingThreads } from '../../pipeline/tile/run-jobs.js';
import type { Config } from '../../src/config/load-config.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { currentTileHashes, makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

/** Records as JSON texts, each on a line of its own (so edits below can find them). */
function parcelTexts(count: number, seed: number): string[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => JSON.stringify({
    type: 'Feature',
    properties: { BSM: `371502${String(i + 1).padStart(12, '0')}`, DLMC: rnd() < 0.5 ? '水田' : '旱地' },
    geometry: { type: 'Polygon', coordinates: [parcelRing(115.8 + rnd() * 0.3, 36.3 + rnd() * 0.3, 0.001, 0.0008, 5 + Math.floor(rnd() * 10), rnd)] },
  }));
}

function collection(records: string[], before = '', after = ''): string {
  return `{"type":"FeatureCollection",${before}"features":[\n${records.join(',\n')}\n]${after}}`;
}

/** What the publishing thread's own split makes of a document: its events, each feature with its digest and the memo record of that digest. */
function splitHere(text: string, memo: string[]): { kind: string; text: string; digest?: string; previous?: number }[] {
  const scanner = new FeatureCollectionScanner(MAX_FEATURE_BYTES);
  const events = scanner.feed(Buffer.from(text));
  scanner.finish();
  return events.map((e) => {
    if (e.kind === 'member') return { kind: e.key, text: e.bytes.toString() };
    const digest = recordDigest(e.bytes);
    return { kind: 'feature', text: e.bytes.toString(), digest, previous: memo.indexOf(digest) };
  });
}

/** The memo columns a reading thread is given: each record's digest and byte length. */
function memoOf(records: string[]): { digests: Uint8Array; lengths: Int32Array; list: string[] } {
  const list = records.map((r) => recordDigest(Buffer.from(r)));
  return { digests: new Uint8Array(Buffer.from(list.join(''), 'latin1')), lengths: Int32Array.from(records, (r) => Buffer.byteLength(r)), list };
}

describe('a GeoJSON source read on a tiling thread', () => {
  let dir: string;
  let threads: TilingThreads;
  beforeAll(() => {
    dir = makeTempDir();
    threads = new TilingThreads(1);
  });
  afterAll(async () => {
    await threads.close(false);
    removeDir(dir);
  });

  const readThere = async (text: string, memo: { digests: Uint8Array; lengths: Int32Array }): Promise<ScanEvent<DigestedRecord>[]> => {
    const file = path.join(dir, 'source.geojson');
    writeFileSync(file, text);
    const worker = threads.lend();
    if (!worker) throw new Error('no thread to lend');
    const read = readRecordsElsewhere(worker, file, memo);
    const events: ScanEvent<DigestedRecord>[] = [];
    for await (const batch of read.batches) events.push(...batch);
    return events;
  };

  it('splits, digests and looks up the records as the publishing thread does, skipping known ones unscanned', async () => {
    // Over 2 MB of records: several reads, with records across their ends.
    const records = parcelTexts(4000, 11);
    const memo = memoOf(records);
    expect(memo.list[0]).toHaveLength(DIGEST_CHARS);
    const edited = [...records];
    edited[5] = (edited[5] as string).replace('水田', '果园').replace('旱地', '果园');
    edited.splice(1000, 1);
    edited.splice(2000, 0, parcelTexts(1, 99)[0] as string);
    edited.push(records[3] as string); // a repeat of a record: found, as by the publishing thread
    const text = collection(edited, '"crs":{"type":"name","properties":{"name":"EPSG:4326"}},', ',"name":"farmland"');
    const events = await readThere(text, memo);
    const got = events.map((e) => (e.kind === 'member' ? { kind: e.key, text: e.bytes.toString() } : {
      kind: 'feature', text: e.bytes.toString(), digest: e.known?.digest, previous: e.known?.previous,
    }));
    const expected = splitHere(text, memo.list);
    expect(got.length).toBe(edited.length + 2);
    expect(got).toEqual(expected);
    expect(events.filter((e) => e.kind === 'feature').map((e) => e.index)).toEqual(edited.map((_, i) => i));
    expect(expected.filter((e) => e.previous === -1)).toHaveLength(2);
  });

  it('hashes the bytes it hands over as a source fingerprint reads the file, once the reads end', async () => {
    const file = path.join(dir, 'hashed.geojson');
    writeFileSync(file, collection(parcelTexts(3000, 13)));
    const worker = threads.lend();
    if (!worker) throw new Error('no thread to lend');
    const read = readRecordsElsewhere(worker, file, memoOf([]));
    expect(read.sourceHash()).toBeNull();
    for await (const batch of read.batches) expect(batch.length).toBeGreaterThan(0);
    expect(read.sourceHash()).toBe(await hashSource(file));
  });

  it('reports a broken document where the publishing thread does', async () => {
    const records = parcelTexts(300, 12);
    const memo = memoOf(records);
    const broken = [
      collection(records).slice(0, -40), // cut short inside the last record
      `${collection(records)} x`,
      '[1, 2, 3]',
    ];
    for (const text of broken) {
      let here: JsonScanError | null = null;
      try {
        splitHere(text, memo.list);
      } catch (err) {
        here = err as JsonScanError;
      }
      expect(here).toBeInstanceOf(JsonScanError);
      await expect(readThere(text, memoOf(records))).rejects.toMatchObject({ name: 'JsonScanError', message: here?.message, feature: here?.feature });
    }
  });

  /** A publish of `layer` into `storeDir` (under dir) with `workers` threads: its state and tiles, or its error. */
  const publishIn = async (layer: Config['layers'][number], storeDir: string, workers: number): Promise<{ state: string; recalled: number; hashes: Map<string, string> } | { error: string }> => {
    const store = openSqliteStore(path.join(dir, storeDir));
    try {
      const result = await publishLayer(layer, { store, keepVersions: 5, defaultAttribution: 't', workers });
      return { state: result.state, recalled: result.recalledFeatures, hashes: currentTileHashes(store, 'parcels') };
    } catch (err) {
      return { error: (err as Error).message };
    } finally {
      store.close();
    }
  };

  /** Sources that publish, and sources that fail in each way the reading thread must report as this thread does. */
  const variantsOf = (records: string[]): [string, string][] => {
    const nan = [...records];
    nan[400] = (nan[400] as string).replace(/\d+\.\d+/, 'NaN');
    const badRing = [...records];
    badRing[77] = (badRing[77] as string).replace(/"coordinates":\[\[\[/, '"coordinates":[[[0,0],[1,1]],[[');
    return [
      ['an edit', collection([...records.slice(0, 10), (records[10] as string).replace('3715', '3716'), ...records.slice(11)])],
      ['a record that is not JSON', collection(nan)],
      ['a ring of two positions', collection(badRing)],
      ['a file cut short', collection(records).slice(0, 5000)],
      ['another CRS before the features', collection(records, '"crs":{"type":"name","properties":{"name":"EPSG:4490"}},')],
      ['another CRS after the features', collection(records, '', ',"crs":{"type":"name","properties":{"name":"EPSG:4490"}}')],
      ['no features', '{"type":"FeatureCollection"}'],
    ];
  };

  /**
   * Publishes each variant from a copy of `from` (null: an empty store) on this thread and
   * with two threads, one of which reads the source: the outcomes must be the same.
   */
  const compareReads = async (layer: Config['layers'][number], variants: [string, string][], from: string | null): Promise<void> => {
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    const readRequests = (): number => posted.mock.calls.filter(([msg]) => (msg as { type?: string }).type === 'read').length;
    try {
      for (const [name, text] of variants) {
        writeFileSync(path.join(dir, 'parcels.geojson'), text);
        if (from) {
          cpSync(path.join(dir, from), path.join(dir, 'here'), { recursive: true });
          cpSync(path.join(dir, from), path.join(dir, 'there'), { recursive: true });
        }
        const here = await publishIn(layer, 'here', 0);
        posted.mockClear();
        const there = await publishIn(layer, 'there', 2);
        expect(readRequests(), name).toBe(1);
        expect(there, name).toEqual(here);
        removeDir(path.join(dir, 'here'));
        removeDir(path.join(dir, 'there'));
      }
    } finally {
      posted.mockRestore();
    }
  };

  const parcelsLayer = (): Config['layers'][number] => writeConfig(dir, {
    node: { id: 'n', title: 't' }, storage: { dir: 'store' },
    layers: [{ id: 'parcels', source: 'parcels.geojson', idField: 'BSM', minzoom: 10, maxzoom: 12 }],
  }).layers[0] as Config['layers'][number];

  it('makes a republish fail, or succeed, exactly as reading on the publishing thread does', async () => {
    const records = parcelTexts(600, 13);
    const layer = parcelsLayer();
    writeFileSync(path.join(dir, 'parcels.geojson'), collection(records));
    expect(await publishIn(layer, 'store', 2)).toMatchObject({ state: 'published', recalled: 0 });
    await compareReads(layer, variantsOf(records), 'store');
  });

  it('gives the source fingerprint the hash of the bytes it read, even when the file changes before the commit', async () => {
    const layer = parcelsLayer();
    const file = path.join(dir, 'parcels.geojson');
    writeFileSync(file, collection(parcelTexts(200, 15)));
    const read = await hashSource(file);
    const store = openSqliteStore(path.join(dir, 'fingerprinted'));
    try {
      for (const workers of [2, 0]) {
        const fingerprinting = await SourceFingerprinting.start(file);
        const told: (string | null)[] = [];
        await publishLayer(layer, {
          store, keepVersions: 5, defaultAttribution: 't', workers,
          onSourceRead: (hash) => {
            told.push(hash);
            fingerprinting.sourceRead(hash);
          },
          // Another edit lands while the tiles are cut: this publish read the earlier bytes.
          beforeCommit: async () => {
            if (workers) writeFileSync(file, collection(parcelTexts(200, 16)));
          },
        });
        // On a tiling thread the hash comes with the reads; on this thread the file is hashed after (and here, already changed).
        expect(told).toEqual([workers ? read : null]);
        expect((await fingerprinting.fingerprint()).hash).toBe(workers ? read : await hashSource(file));
      }
    } finally {
      store.close();
    }
  });

  // With no memo, the thread still splits and digests (the digests make the first memo).
  it('makes a first publish fail, or succeed, exactly as reading on the publishing thread does', async () => {
    await compareReads(parcelsLayer(), variantsOf(parcelTexts(600, 14)), null);
  });
});
