import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
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
