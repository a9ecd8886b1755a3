import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateParcels, generateUrbanBoundaries } from './generate-parcels.js';
import type { BenchContext, BenchLayerFile, BenchSection } from './section.js';
import { SECTIONS } from './sections.js';

/** `npm run bench [section…]`: runs the sections, writes docs/BENCHMARKS.md. */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const parcelCount = Number(process.env.BENCH_PARCELS ?? 200_000);
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'plantiles-bench-'));
  const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);
  const lazy = (make: () => Promise<BenchLayerFile>): (() => Promise<BenchLayerFile>) => {
    let p: Promise<BenchLayerFile> | null = null;
    return () => (p ??= make());
  };
  const ctx: BenchContext = {
    workDir,
    log,
    parcels: lazy(() => { log(`generating ${parcelCount} parcels`); return generateParcels(path.join(workDir, 'parcels.geojson'), parcelCount); }),
    urbanBoundaries: lazy(() => generateUrbanBoundaries(path.join(workDir, 'ubound.geojson'))),
  };
  const chosen: BenchSection[] = only.length ? SECTIONS.filter((s) => only.includes(s.name)) : SECTIONS;
  const parts: string[] = [];
  try {
    for (const section of chosen) {
      log(`section ${section.name}`);
      parts.push(await section.run(ctx));
    }
  } finally {
    if (process.env.BENCH_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
  }
  const command = `npm run bench${only.length ? ` -- ${only.join(' ')}` : ''}`;
  const header = `# Benchmarks\n\nProduced by \`${command}\` on ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Ratios compare tools measured in the same run on the same input.\n`;
  mkdirSync('docs', { recursive: true });
  writeFileSync(path.join('docs', only.length ? `BENCHMARKS-${only.join('-')}.md` : 'BENCHMARKS.md'), `${header}\n${parts.join('\n')}\n`);
}

await main();
