import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateParcels } from '../../bench/generate-parcels.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

// Large sources are streamed: a reader that held the file as text (or parsed it
// whole) cannot read a file several times larger than the JS heap it is given.
const HEAP_MB = 48;
const PARCELS = 130_000; // about 95 MB of GeoJSON

/** Ingests `file` in a child with a small heap and a sink that keeps nothing; returns its report. */
function ingestInSmallHeap(file: string): { status: number | null; out: string; err: string } {
  const module = pathToFileURL(path.resolve('dist/pipeline/ingest/ingest-layer.js')).href;
  const script = `
    const { ingestStream } = await import(${JSON.stringify(module)});
    let n = 0;
    const summary = await ingestStream({ source: process.argv[1], idField: 'BSM' }, () => { n++; });
    console.log(JSON.stringify({ n, read: summary.validation.read, bounds: summary.bounds }));`;
  const r = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--input-type=module', '-e', script, file], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('streaming ingest', () => {
  let dir: string;
  let geojson: string;
  let ndjson: string;

  beforeAll(async () => {
    dir = makeTempDir('plantiles-stream-');
    geojson = path.join(dir, 'parcels.geojson');
    await generateParcels(geojson, PARCELS);
    // The same features, one per line: the generator writes one feature per line, comma-terminated.
    ndjson = path.join(dir, 'parcels.ndjson');
    const out = createWriteStream(ndjson);
    for await (const line of createInterface({ input: createReadStream(geojson) })) {
      const body = line.replace(/,$/, '');
      if (!body.startsWith('{"type":"Feature",')) continue;
      if (!out.write(`${body}\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  });
  afterAll(() => removeDir(dir));

  it.each([['GeoJSON FeatureCollection', () => geojson], ['GeoJSONSeq', () => ndjson]])('reads a %s twice the heap\'s size and more', (_, file) => {
    expect(statSync(file()).size).toBeGreaterThan(1.8 * HEAP_MB * 2 ** 20);
    const r = ingestInSmallHeap(file());
    expect(r.status, r.err.slice(-2000)).toBe(0);
    const report = JSON.parse(r.out.trim()) as { n: number; read: number; bounds: number[] };
    expect(report).toMatchObject({ n: PARCELS, read: PARCELS });
    expect(report.bounds[0]).toBeGreaterThan(115.29);
    expect(report.bounds[2]).toBeLessThan(116.61);
  });
});
