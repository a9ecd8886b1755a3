import { gzipSync } from 'node:zlib';
import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { describe, expect, it } from 'vitest';
import { encodePlain } from '../../pipeline/tile/encode-tile.js';
import { LentFeature, PreviousLayer } from '../../pipeline/tile/previous-layer.js';
import { TileSplicer } from '../../pipeline/tile/splice-tile.js';
import { seededRandom } from '../../bench/generate-parcels.js';


type Point = [number, number];

const VALUES: unknown[] = ['0101', '水田', '', '1', 1, -1, 0, 2.5, -7.25, 2 ** 40, -(2 ** 33), true, false, null, undefined, { a: 1 }, [1, 2]];
const KEYS = ['BSM', 'DLBM', 'DLMC', 'TBMJ', '2', '10', 'a b', '名称'];
/** First MVT ids of the scenarios: varints of 2 bytes, and at and around every width from 31 bits (where bit operations wrap) to 53. */
const ID_BASES = [1000, 2 ** 31 - 30, 2 ** 32 - 10, 2 ** 35 - 20, 2 ** 42 + 7, 2 ** 49 - 3, 2 ** 53 - 200];

/** A random finalized tile feature (MVT id `id`), of any type, with attribute values of every kind vt-pbf tells apart. */
function randomFeature(rand: () => number, id: number): GeoJSONVTFeature {
  const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)] as T;
  const coord = (): number => Math.floor(rand() * 4400) - 150;
  const tags: Record<string, unknown> = {};
  for (const key of KEYS) if (rand() < 0.6) tags[key] = pick(VALUES);
  if (rand() < 0.3) tags.BSM = `B${Math.floor(rand() * 1e6)}`;
  if (rand() < 0.005) tags.DLMC = '\uFFFD';
  const type = pick([1, 2, 3, 3, 3]) as 1 | 2 | 3;
  const ring = (closed: boolean): Point[] => {
    // Mostly short rings, some long ones (their bytes are copied differently).
    const pts: Point[] = Array.from({ length: 3 + Math.floor(rand() * (rand() < 0.1 ? 60 : 8)) }, () => [coord(), coord()] as Point);
    if (closed) pts.push([pts[0]?.[0] ?? 0, pts[0]?.[1] ?? 0]);
    return pts;
  };
  const base = { id, tags: rand() < 0.05 ? null : tags } as const;
  if (type === 1) return { ...base, type, geometry: ring(false) } as GeoJSONVTFeature;
  return { ...base, type, geometry: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ring(type === 3)) } as GeoJSONVTFeature;
}

/**
 * A previous tile of `n` features and a new feature list: the previous features kept (some
 * dropped, a few moved), some changed or added, each new feature known by a table index.
 */
function scenario(seed: number, idBase: number): { previousGz: Uint8Array; table: GeoJSONVTFeature[]; lent: number[]; list: number[] } {
  const rand = seededRandom(seed);
  const n = 1 + Math.floor(rand() * 60);
  const table: GeoJSONVTFeature[] = Array.from({ length: n }, (_, i) => randomFeature(rand, idBase + i));
  const previous = table.filter(() => rand() < 0.9);
  const previousGz = gzipSync(encodePlain('parcels', previous));
  const lent: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!previous.includes(table[i] as GeoJSONVTFeature)) continue;
    if (rand() < 0.15) table[i] = randomFeature(rand, idBase + i); // changed: cut again
    else lent.push(i);
  }
  const added = Math.floor(rand() * 8);
  for (let k = 0; k < added; k++) table.push(randomFeature(rand, idBase + table.length));
  const list = table.map((_, i) => i).filter(() => rand() < 0.85);
  if (rand() < 0.2) list.reverse();
  return { previousGz, table, lent, list };
}

/** As tiling finalizes a feature: a copy that names its geometry (a lent feature's is a getter). */
function finalizeLike(f: GeoJSONVTFeature): GeoJSONVTFeature {
  return { ...f, geometry: f.geometry, tags: {} } as GeoJSONVTFeature;
}

describe('splicing a previous tile\'s features into a new one', () => {
  it('gives vt-pbf\'s bytes for any mix of lent, changed and added features, sets and orders', () => {
    let spliced = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const idBase = ID_BASES[seed % ID_BASES.length] as number;
      const { previousGz, table, lent, list } = scenario(seed, idBase);
      const layer = PreviousLayer.fromGzip(previousGz, 'parcels');
      const finalize = (f: GeoJSONVTFeature): GeoJSONVTFeature => table[f.id as number] as GeoJSONVTFeature;
      const splicer = new TileSplicer('parcels', finalize);
      // A lent feature finalized to a wrong shape: only bytes copied from the previous tile give the right tile.
      const copying = new TileSplicer('parcels', (f) => (f instanceof LentFeature ? { ...finalize(f), geometry: [] } as unknown as GeoJSONVTFeature : finalize(f)));
      // Features as tiling holds them: ids are table indices; lent ones carry the geometry read back.
      const objects = table.map((f, i) => ({ ...f, id: i, tags: null }) as GeoJSONVTFeature);
      for (const i of lent) {
        const ref = layer.refOf(idBase + i);
        if (ref >= 0) objects[i] = new LentFeature(layer, ref, i).asTileFeature();
      }
      for (let round = 0; round < 3; round++) {
        const features = list.filter((_, k) => (k + round) % 5 !== 0).map((i) => objects[i] as GeoJSONVTFeature);
        const expected = Buffer.from(encodePlain('parcels', features.map(finalize)));
        expect(Buffer.from(splicer.encode(features)).equals(expected), `seed ${seed} round ${round}`).toBe(true);
        // Where the rule says to splice (a spliceable layer, at most half the features cut again), bytes are copied.
        const fresh = features.filter((f) => !(f instanceof LentFeature)).length;
        if (layer.spliceable && fresh * 2 <= features.length && fresh < features.length) {
          expect(Buffer.from(copying.encode(features)).equals(expected), `seed ${seed} round ${round}, copied`).toBe(true);
          spliced++;
        }
      }
    }
    // The U+FFFD value makes some previous layers unspliceable (encoded by vt-pbf): most lists must splice.
    expect(spliced).toBeGreaterThan(60);
  });

  it('splices a list lent by two previous layers into the one lending most of it, whichever comes first', () => {
    let checked = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const rand = seededRandom(1000 + seed);
      const table = Array.from({ length: 50 }, (_, i) => randomFeature(rand, 1000 + i));
      // A lends the first few features of the list (a tile's largest), B most of the rest (a sample's).
      const [fromA, fromB] = [table.slice(0, 4), table.slice(4, 45)];
      const a = PreviousLayer.fromGzip(gzipSync(encodePlain('parcels', fromA)), 'parcels');
      const b = PreviousLayer.fromGzip(gzipSync(encodePlain('parcels', [...fromB].reverse())), 'parcels');
      if (!a.spliceable || !b.spliceable) continue;
      const lent = (layer: PreviousLayer, i: number): GeoJSONVTFeature => new LentFeature(layer, layer.refOf(1000 + i), i).asTileFeature();
      const features = table.map((f, i) => (i < 4 ? lent(a, i) : i < 45 ? lent(b, i) : ({ ...f, id: i, tags: null }) as GeoJSONVTFeature));
      const finalize = (f: GeoJSONVTFeature): GeoJSONVTFeature => table[f.id as number] as GeoJSONVTFeature;
      const expected = Buffer.from(encodePlain('parcels', features.map(finalize)));
      expect(Buffer.from(new TileSplicer('parcels', finalize).encode(features)).equals(expected), `seed ${seed}`).toBe(true);
      // B's features finalized to a wrong shape: only copying B's bytes gives the right tile.
      const copyingB = new TileSplicer('parcels', (f) => (f instanceof LentFeature && f.layer === b ? { ...finalize(f), geometry: [] } as unknown as GeoJSONVTFeature : finalize(f)));
      expect(Buffer.from(copyingB.encode(features)).equals(expected), `seed ${seed}, copied from B`).toBe(true);
      checked++;
    }
    // A layer whose text holds U+FFFD is not spliced: most seeds must give two spliceable layers.
    expect(checked).toBeGreaterThan(15);
  });

  it('reads a previous layer: features by id with their geometry, keys, and values as bytes', () => {
    const features: GeoJSONVTFeature[] = [
      { id: 7, type: 3, tags: { DLBM: '0101', TBMJ: 2.5 }, geometry: [[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]] },
      { id: 9, type: 2, tags: { DLBM: '0102', n: -3 }, geometry: [[[5, 5], [50, 60]]] },
    ];
    const layer = PreviousLayer.fromGzip(gzipSync(encodePlain('parcels', features)), 'parcels');
    expect(layer.idList()).toEqual([7, 9]);
    const ref = layer.refOf(7);
    expect(ref).toBe(0);
    expect(new LentFeature(layer, ref, 0).geometry).toEqual(features[0]?.geometry);
    expect({ ...finalizeLike(new LentFeature(layer, ref, 0).asTileFeature()) }.geometry).toEqual(features[0]?.geometry);
    expect(layer.keys).toEqual(['DLBM', 'TBMJ', 'n']);
    expect(layer.findKey('TBMJ')).toBe(1);
    expect(layer.findKey('x')).toBe(-1);
    expect(layer.valueStarts.map((start, n) => Buffer.from(layer.plain.subarray(start, layer.valueEnds[n])).toString('hex'))).toEqual([
      Buffer.from([0x0a, 4, ...Buffer.from('0101')]).toString('hex'),
      '19' + Buffer.from(new Float64Array([2.5]).buffer).toString('hex'),
      Buffer.from([0x0a, 4, ...Buffer.from('0102')]).toString('hex'),
      '3005',
    ]);
    expect(layer.spliceable).toBe(true);
    expect(PreviousLayer.fromGzip(gzipSync(encodePlain('parcels', features)), 'other').count).toBe(0);
  });
});
