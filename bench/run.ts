import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateParcels, generateUrbanBoundaries } from './generate-parcels.js';
import type { BenchContext, BenchLayerFile, BenchSection } from './section.js';
import { SECTIONS } from './sections.js';

/** `npm run bench [section…]`: runs the sections, writes each one's docs/BENCHMARKS-<section>.md and gathers them into docs/BENCHMARKS.md. */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((name) => !SECTIONS.some((s) => s.name === name));
  if (unknown.length) throw new Error(`unknown section ${unknown.join(', ')} (sections: ${SECTIONS.map((s) => s.name).join(', ')})`);
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
  const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
  mkdirSync('docs', { recursive: true });
  chosen.forEach((section, k) => {
    const header = `# Benchmarks\n\nProduced by \`${command}\` on ${machine}. Ratios compare tools measured in the same run on the same input.\n`;
    writeFileSync(sectionFile(section.name), `${header}\n${parts[k] ?? ''}\n`);
  });
  writeFileSync(path.join('docs', 'BENCHMARKS.md'), gatherSections());
}

/** Where a section's latest figures are kept. */
function sectionFile(name: string): string {
  return path.join('docs', `BENCHMARKS-${name}.md`);
}

/** The order of docs/BENCHMARKS.md: the headline comparisons first. */
const PAGE_ORDER = ['tiling', 'ingest', 'serving', 'sync'];

/** docs/BENCHMARKS.md: the latest run of every section (docs/BENCHMARKS-<section>.md), each with the command and machine that produced it. */
function gatherSections(): string {
  const names = [...PAGE_ORDER, ...SECTIONS.map((s) => s.name).filter((n) => !PAGE_ORDER.includes(n))];
  const pieces: string[] = [];
  for (const name of names) {
    if (!existsSync(sectionFile(name))) continue;
    const text = readFileSync(sectionFile(name), 'utf8');
    const produced = /^Produced by `([^`]*)` on (.*?\d{4}-\d\d-\d\d)\..*\n/m.exec(text);
    const body = text.replace('# Benchmarks\n', '').replace(produced?.[0] ?? '', '').trim();
    pieces.push(`<!-- from docs/BENCHMARKS-${name}.md -->\n_Command: \`${produced?.[1] ?? 'npm run bench'}\` — ${produced?.[2] ?? 'machine not recorded'}._\n\n${body}\n`);
  }
  return `# Benchmarks

Every figure below was produced by \`npm run bench\` (all sections) or by one of its
sections, \`npm run bench -- <section>\`, which writes \`docs/BENCHMARKS-<section>.md\`;
this page gathers the latest run of each section, with the command and machine it
ran on. Ratios compare tools measured in the same run, on the same input, on the
same machine. Runs on a machine that was busy with other work say so.

${pieces.join('\n')}`;
}

await main();
