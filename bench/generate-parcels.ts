import { createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import type { BenchLayerFile } from './section.js';

/** mulberry32: a small seeded PRNG, so every run generates the same bytes. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LIAOCHENG = { west: 115.3, south: 35.8, east: 116.6, north: 37.0 };
const CLASSES: [string, string][] = [['0101', '水田'], ['0102', '水浇地'], ['0103', '旱地'], ['0201', '果园'], ['0301', '乔木林地'], ['0404', '其他草地']];
const COUNTIES = ['371502', '371503', '371521', '371522', '371524', '371525', '371526', '371581'];

/** Writes `count` farmland parcels (5–40 vertices each) over Liaocheng's extent as GeoJSON (EPSG:4326). */
export async function generateParcels(file: string, count: number, seed = 20261129): Promise<BenchLayerFile> {
  const rnd = seededRandom(seed);
  const out = createWriteStream(file);
  const cols = Math.ceil(Math.sqrt(count * 1.1));
  const cell = (LIAOCHENG.east - LIAOCHENG.west) / cols;
  const rows = Math.ceil(count / cols);
  const cellY = (LIAOCHENG.north - LIAOCHENG.south) / rows;
  out.write('{"type":"FeatureCollection","features":[\n');
  for (let i = 0; i < count; i++) {
    const cx = LIAOCHENG.west + ((i % cols) + 0.5) * cell;
    const cy = LIAOCHENG.south + (Math.floor(i / cols) + 0.5) * cellY;
    const ring = parcelRing(cx, cy, cell * 0.45, cellY * 0.45, 5 + Math.floor(rnd() * 36), rnd);
    const [dlbm, dlmc] = CLASSES[Math.floor(rnd() * CLASSES.length)] as [string, string];
    const county = COUNTIES[Math.floor(rnd() * COUNTIES.length)] as string;
    const props = { BSM: `${county}${String(i + 1).padStart(12, '0')}`, DLBM: dlbm, DLMC: dlmc, TBMJ: Math.round(rnd() * 5e6) / 100, XZQDM: county };
    const line = JSON.stringify({ type: 'Feature', properties: props, geometry: { type: 'Polygon', coordinates: [ring] } });
    if (!out.write(i ? `,\n${line}` : line)) await once(out, 'drain');
  }
  out.end('\n]}\n');
  await once(out, 'finish');
  return { file, features: count, bytes: (await stat(file)).size };
}

/** A star-shaped ring of n vertices (closed, counter-clockwise), jittered radially. */
export function parcelRing(cx: number, cy: number, rx: number, ry: number, n: number, rnd: () => number): [number, number][] {
  const ring: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    const a = (2 * Math.PI * k) / n;
    const r = 0.7 + 0.3 * rnd();
    ring.push([round7(cx + Math.cos(a) * rx * r), round7(cy + Math.sin(a) * ry * r)]);
  }
  ring.push([ring[0]?.[0] ?? cx, ring[0]?.[1] ?? cy]);
  return ring;
}

/** Writes `count` very detailed urban boundary polygons (`vertices` each) as GeoJSON (EPSG:4326). */
export async function generateUrbanBoundaries(file: string, count = 12, vertices = 20_000, seed = 7): Promise<BenchLayerFile> {
  const rnd = seededRandom(seed);
  const out = createWriteStream(file);
  out.write('{"type":"FeatureCollection","features":[\n');
  for (let i = 0; i < count; i++) {
    const cx = LIAOCHENG.west + 0.1 + rnd() * (LIAOCHENG.east - LIAOCHENG.west - 0.2);
    const cy = LIAOCHENG.south + 0.1 + rnd() * (LIAOCHENG.north - LIAOCHENG.south - 0.2);
    const ring: [number, number][] = [];
    const phase = rnd() * 6;
    for (let k = 0; k < vertices; k++) {
      const a = (2 * Math.PI * k) / vertices;
      const r = 0.05 * (1 + 0.25 * Math.sin(5 * a + phase) + 0.08 * Math.sin(37 * a) + 0.02 * (rnd() - 0.5));
      ring.push([round7(cx + Math.cos(a) * r), round7(cy + Math.sin(a) * r * 0.8)]);
    }
    ring.push([ring[0]?.[0] ?? cx, ring[0]?.[1] ?? cy]);
    const props = { BSM: `3715000000${String(i + 1).padStart(8, '0')}`, YSDM: '2090020100', MC: `城镇开发边界${i + 1}` };
    const line = JSON.stringify({ type: 'Feature', properties: props, geometry: { type: 'Polygon', coordinates: [ring] } });
    out.write(i ? `,\n${line}` : line);
  }
  out.end('\n]}\n');
  await once(out, 'finish');
  return { file, features: count, bytes: (await stat(file)).size };
}

function round7(v: number): number {
  return Math.round(v * 1e7) / 1e7;
}

/** How a seeded edit changes a parcel layer. */
export interface ParcelEdit {
  /** Share of parcels edited (0.01 = 1%). */
  share: number;
  /** "patches": in square change patches of ~100 parcels, as a survey update comes; "scattered": anywhere. */
  layout: 'patches' | 'scattered';
  seed: number;
}

/** What an edit did. */
export interface EditCounts {
  reshaped: number;
  moved: number;
  attributes: number;
  deleted: number;
  added: number;
}

type ParcelFeature = { type: 'Feature'; properties: Record<string, string | number>; geometry: { type: 'Polygon'; coordinates: [number, number][][] } };

/**
 * Rewrites a layer written by generateParcels with `share` of its parcels edited:
 * reshaped (40%), moved a little (20%), an attribute changed (20%), deleted and replaced
 * by a new parcel with a new BSM (20%). Seeded, so every run makes the same edit.
 */
export async function editParcels(src: string, dst: string, edit: ParcelEdit): Promise<EditCounts> {
  const fc = JSON.parse(await readFile(src, 'utf8')) as { features: ParcelFeature[] };
  const rnd = seededRandom(edit.seed);
  const chosen = chooseParcels(fc.features.length, edit, rnd);
  const counts: EditCounts = { reshaped: 0, moved: 0, attributes: 0, deleted: 0, added: 0 };
  const out: ParcelFeature[] = [];
  fc.features.forEach((f, i) => {
    if (!chosen.has(i)) return void out.push(f);
    const roll = rnd();
    const ring = f.geometry.coordinates[0] ?? [];
    const [cx, cy, rx, ry] = ringFrame(ring);
    if (roll < 0.4) {
      f.geometry.coordinates = [parcelRing(cx, cy, rx, ry, 5 + Math.floor(rnd() * 36), rnd)];
      counts.reshaped++;
    } else if (roll < 0.6) {
      const [dx, dy] = [(rnd() - 0.5) * rx * 0.4, (rnd() - 0.5) * ry * 0.4];
      f.geometry.coordinates = [ring.map(([x, y]) => [round7(x + dx), round7(y + dy)] as [number, number])];
      counts.moved++;
    } else if (roll < 0.8) {
      f.properties.TBMJ = Math.round(rnd() * 5e6) / 100;
      counts.attributes++;
    } else {
      counts.deleted++;
      counts.added++;
      const bsm = `3715990${String(i + 1).padStart(11, '0')}`;
      return void out.push({ type: 'Feature', properties: { ...f.properties, BSM: bsm }, geometry: { type: 'Polygon', coordinates: [parcelRing(cx, cy, rx, ry, 5 + Math.floor(rnd() * 36), rnd)] } });
    }
    out.push(f);
  });
  await writeFile(dst, `{"type":"FeatureCollection","features":[\n${out.map((f) => JSON.stringify(f)).join(',\n')}\n]}\n`);
  return counts;
}

/** Indices of the parcels an edit touches: whole patches of the generator's grid, or anywhere. */
function chooseParcels(count: number, edit: ParcelEdit, rnd: () => number): Set<number> {
  const target = Math.round(count * edit.share);
  const chosen = new Set<number>();
  if (edit.layout === 'scattered') {
    while (chosen.size < target) chosen.add(Math.floor(rnd() * count));
    return chosen;
  }
  const cols = Math.ceil(Math.sqrt(count * 1.1));
  const rows = Math.ceil(count / cols);
  const side = Math.max(1, Math.min(10, Math.floor(Math.sqrt(target))));
  while (chosen.size < target) {
    const c0 = Math.floor(rnd() * Math.max(1, cols - side));
    const r0 = Math.floor(rnd() * Math.max(1, rows - side));
    for (let r = r0; r < r0 + side && chosen.size < target; r++) {
      for (let c = c0; c < c0 + side && chosen.size < target; c++) if (r * cols + c < count) chosen.add(r * cols + c);
    }
  }
  return chosen;
}

/** Centre and radii of a parcel ring, so an edited parcel stays in its cell. */
function ringFrame(ring: [number, number][]): [number, number, number, number] {
  const xs = ring.map((p) => p[0]);
  const ys = ring.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return [(x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2];
}
