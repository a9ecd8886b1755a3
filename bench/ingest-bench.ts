import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingestStream } from '../pipeline/ingest/ingest-layer.js';
import { parcelRing, seededRandom } from './generate-parcels.js';
import type { BenchContext, BenchSection } from './section.js';

/** Default input size: 1 GiB of newline-delimited GeoJSON (BENCH_INGEST_BYTES overrides, e.g. for a quick check). */
const DEFAULT_BYTES = 2 ** 30;
const EXTENT = { west: 115.3, south: 35.8, east: 116.6, north: 37.0 };
const CLASSES: [string, string][] = [['0101', '水田'], ['0102', '水浇地'], ['0103', '旱地'], ['0201', '果园'], ['0301', '乔木林地'], ['0404', '其他草地']];
/** Average bytes of one generated line, to lay the parcels out on a grid before writing them. */
const BYTES_PER_PARCEL = 700;

/** What the ingest child measured. */
interface IngestFigures {
  features: number;
  seconds: number;
  cpuSeconds: number;
  /** Peak resident set of the child, bytes (getrusage maxrss). */
  peakRss: number;
  skipped: number;
}

/** Writes seeded farmland parcels as GeoJSONSeq (one Feature per line) until the file reaches `bytes`. */
export async function generateParcelsNdjson(file: string, bytes: number, seed = 20261130): Promise<{ features: number; bytes: number }> {
  const rnd = seededRandom(seed);
  const out = createWriteStream(file);
  const cols = Math.ceil(Math.sqrt((bytes / BYTES_PER_PARCEL) * 1.1));
  const cell = (EXTENT.east - EXTENT.west) / cols;
  const cellY = (EXTENT.north - EXTENT.south) / cols;
  let written = 0;
  let i = 0;
  while (written < bytes) {
    const cx = EXTENT.west + ((i % cols) + 0.5) * cell;
    const cy = EXTENT.south + ((Math.floor(i / cols) % cols) + 0.5) * cellY;
    const ring = parcelRing(cx, cy, cell * 0.45, cellY * 0.45, 5 + Math.floor(rnd() * 36), rnd);
    const [dlbm, dlmc] = CLASSES[Math.floor(rnd() * CLASSES.length)] as [string, string];
    const bsm = `371500${String(i + 1).padStart(12, '0')}`;
    const line = `${JSON.stringify({ type: 'Feature', properties: { BSM: bsm, DLBM: dlbm, DLMC: dlmc, TBMJ: Math.round(rnd() * 5e6) / 100, XZQDM: '371500' }, geometry: { type: 'Polygon', coordinates: [ring] } })}\n`;
    written += Buffer.byteLength(line);
    i++;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { features: i, bytes: written };
}

/** In the child: ingests a file with a sink that keeps nothing, and prints the figures as JSON. */
async function runChild(file: string): Promise<void> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let features = 0;
  const summary = await ingestStream({ source: file, idField: 'BSM' }, () => { features++; });
  const used = process.cpuUsage(cpu);
  const figures: IngestFigures = {
    features,
    seconds: Number(process.hrtime.bigint() - start) / 1e9,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRss: process.resourceUsage().maxRSS * 1024,
    skipped: summary.validation.skipped,
  };
  console.log(JSON.stringify(figures));
}

function measure(file: string): Promise<IngestFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`ingest child exited ${code}`));
      else resolve(JSON.parse(out.trim()) as IngestFigures);
    });
  });
}

const mib = (n: number): string => (n / 2 ** 20).toFixed(0);

/**
 * Ingest: the streaming read → validate → reproject → identify stage on a
 * generated GeoJSONSeq file of >= 1 GiB, in a child process (features discarded
 * after ingest, as the tiling stage is measured elsewhere). Reports features/s and
 * the child's peak RSS against the input's size.
 */
export const ingestSection: BenchSection = {
  name: 'ingest',
  async run(ctx: BenchContext): Promise<string> {
    const target = Number(process.env.BENCH_INGEST_BYTES ?? DEFAULT_BYTES);
    const file = path.join(ctx.workDir, 'parcels.ndjson');
    ctx.log(`ingest: generating ${mib(target)} MiB of GeoJSONSeq`);
    const input = await generateParcelsNdjson(file, target);
    ctx.log(`ingest: reading ${input.features} parcels in a child process`);
    const f = await measure(file);
    if (f.features !== input.features || f.skipped) throw new Error(`ingest kept ${f.features} of ${input.features} features (${f.skipped} skipped)`);
    return [
      '## Ingest',
      '',
      `Streaming ingest (read, validate, reproject, identify by BSM) of a seeded GeoJSONSeq file of farmland parcels (5–40 vertices each, EPSG:4326), in a child process whose features are dropped after ingest. Peak RSS is the child's maximum resident set (getrusage).`,
      '',
      '| input | features | wall s | CPU s | features/s | MiB/s | peak RSS | peak RSS / input |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${mib(input.bytes)} MiB GeoJSONSeq | ${f.features} | ${f.seconds.toFixed(1)} | ${f.cpuSeconds.toFixed(1)} | ${Math.round(f.features / f.seconds)} | ${(input.bytes / 2 ** 20 / f.seconds).toFixed(1)} | ${mib(f.peakRss)} MiB | ${(f.peakRss / input.bytes).toFixed(3)} |`,
      '',
    ].join('\n');
  },
};

if (process.argv[2] === '--child' && process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runChild(process.argv[3] as string);
}
