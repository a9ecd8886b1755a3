import { gunzipSync } from 'node:zlib';
import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/generate-parcels.js';
import { encodeTile } from '../../pipeline/tile/encode-tile.js';
import { fitBudget, type BudgetContext, type TileFeatureSource } from '../../pipeline/tile/fit-budget.js';
import { PreviousLayer } from '../../pipeline/tile/previous-layer.js';
import { sampleCandidates, sampleKey, sampleStep } from '../../pipeline/tile/sample-candidates.js';

/** `n` distinct MVT ids as a survey numbers parcels: a county prefix, then a running number (some above 2^32). */
function surveyIds(n: number, rnd: () => number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => (rnd() < 0.5 ? 371502 * 1e6 : 0) + 7 * i + 1);
}

/** The list in an order drawn from `rnd` (Fisher–Yates). */
function shuffled<T>(list: T[], rnd: () => number): T[] {
  const out = [...list];
  for (let k = out.length - 1; k > 0; k--) {
    const j = Math.floor(rnd() * (k + 1));
    [out[k], out[j]] = [out[j] as T, out[k] as T];
  }
  return out;
}

/** The ids of a sample (table indices into `ids`). */
function idsOf(sample: Int32Array, ids: Float64Array): number[] {
  return Array.from(sample, (i) => ids[i] as number);
}

describe('the sample that sizes a dense tile', () => {
  it('holds a candidate by its id alone: adding, removing or reordering the others does not change it', () => {
    const rnd = seededRandom(17);
    const ids = surveyIds(20_000, rnd);
    const all = Int32Array.from({ length: ids.length }, (_, i) => i);
    const target = 300;
    const sample = new Set(idsOf(sampleCandidates(all, ids, target), ids));
    // Some 10% removed and as many (new ids) added, in another table order: the step stays the same.
    const kept = all.filter(() => rnd() >= 0.1);
    const added = surveyIds(all.length - kept.length, rnd).map((id) => id + 3); // off the existing ids' residue mod 7: all new
    const order = shuffled([...Array.from(kept, (i) => ids[i] as number), ...added], rnd);
    expect(sampleStep(order.length, target)).toBe(sampleStep(all.length, target));
    const ids2 = Float64Array.from(order);
    const sample2 = new Set(idsOf(sampleCandidates(Int32Array.from(order, (_, i) => i), ids2, target), ids2));
    for (const i of kept) expect(sample2.has(ids[i] as number), `id ${ids[i]}`).toBe(sample.has(ids[i] as number));
    // Its size is near the target: the step is the least power of two that leaves at most about that many.
    const step = sampleStep(all.length, target);
    expect(step).toBe(128);
    const expected = all.length / step;
    expect(Math.abs(sample.size - expected)).toBeLessThan(4 * Math.sqrt(expected));
  });

  it('mixes both words of an id, and takes every candidate when there are few', () => {
    expect(sampleKey(5)).not.toBe(sampleKey(5 + 2 ** 32));
    expect(sampleKey(2 ** 40)).not.toBe(sampleKey(2 ** 41));
    expect(sampleStep(100, 300)).toBe(1);
    expect(sampleStep(301, 300)).toBe(2);
    expect(sampleStep(600, 300)).toBe(2);
    expect(sampleStep(601, 300)).toBe(4);
    const ids = Float64Array.from({ length: 50 }, (_, i) => i);
    expect(sampleCandidates(Int32Array.from({ length: 50 }, (_, i) => i), ids, 300).length).toBe(50);
  });

  it('keeps one candidate, the one of the lowest key, when none falls in the sample', () => {
    // Ids whose keys all miss the mask of a step of 4.
    const ids = Float64Array.from(Array.from({ length: 400 }, (_, i) => i).filter((id) => (sampleKey(id) & 3) !== 0).slice(0, 8));
    const candidates = Int32Array.from(ids, (_, i) => i);
    expect(sampleStep(8, 2)).toBe(4);
    const sample = sampleCandidates(candidates, ids, 2);
    const lowest = Math.min(...Array.from(ids, sampleKey));
    expect(idsOf(sample, ids).map(sampleKey)).toEqual([lowest]);
    const reversed = ids.slice().reverse();
    expect(idsOf(sampleCandidates(candidates, reversed, 2), reversed)).toEqual(idsOf(sample, ids));
  });

  it('sizes a tile from the same sample every time, takes it from the source\'s sample when it has one, and keeps its body', () => {
    const rnd = seededRandom(5);
    const n = 4000;
    const ids = surveyIds(n, rnd);
    const sides = Float64Array.from({ length: n }, () => 3 + Math.floor(rnd() * 60));
    const features: GeoJSONVTFeature[] = Array.from(sides, (s, i) => {
      const [x, y] = [Math.floor(rnd() * 4000), Math.floor(rnd() * 4000)];
      return { id: i, type: 3, tags: null, geometry: [[[x, y], [x, y + s], [x + s, y + s], [x + s, y], [x, y]]] } as GeoJSONVTFeature;
    });
    const finalize = (list: GeoJSONVTFeature[]): GeoJSONVTFeature[] => list.map((f) => ({ ...f, id: ids[f.id as number] as number, tags: { k: (f.id as number) % 3 } }));
    const ctx: BudgetContext = {
      maxBytes: 3000, drop: 'smallest', tolerance: 3, sampleAbove: 400,
      candidates: Int32Array.from({ length: n }, (_, i) => i), ids,
      size: sides,
      finalize, encode: (list) => encodeTile('l', finalize(list)), restore: (list) => list,
    };
    const asked: { how: 'features' | 'sample'; subset: Int32Array | null }[] = [];
    const source = (withSample: boolean): TileFeatureSource => {
      const pick = (subset: Int32Array | null): GeoJSONVTFeature[] => (subset ? Array.from(subset, (i) => features[i] as GeoJSONVTFeature) : features);
      return {
        features: (subset) => {
          asked.push({ how: 'features', subset });
          return pick(subset);
        },
        ...(withSample ? { sample: (subset: Int32Array) => {
          asked.push({ how: 'sample', subset });
          return pick(subset);
        } } : {}),
      };
    };
    const a = fitBudget(source(false), ctx);
    const first = asked.splice(0);
    const b = fitBudget(source(true), ctx);
    const second = asked.splice(0);
    expect(a?.note?.dropped).toBeGreaterThan(0);
    expect(b?.encoded.hash).toBe(a?.encoded.hash);
    expect(b?.note).toEqual(a?.note);
    // The first request is the sample (by id), the same both times; with a sample source, only it serves the sample.
    const expected = sampleCandidates(ctx.candidates, ids, Math.ceil(ctx.sampleAbove / 4));
    expect(first[0]).toEqual({ how: 'features', subset: expected });
    expect(second[0]).toEqual({ how: 'sample', subset: expected });
    expect(second.slice(1).every((r) => r.how === 'features')).toBe(true);
    // The thinned tile carries the sample's body: exactly the sample's features, by MVT id.
    expect(a?.sample).toBeDefined();
    expect(Buffer.from(b?.sample ?? []).equals(Buffer.from(a?.sample ?? [1]))).toBe(true);
    const body = new PreviousLayer(gunzipSync(a?.sample ?? new Uint8Array(0)), 'l');
    expect(body.idList()).toEqual(idsOf(expected, ids));
  });

  it('keeps no sample body for a tile that kept every candidate', () => {
    const ids = Float64Array.from({ length: 500 }, (_, i) => i);
    const features = Array.from({ length: 500 }, (_, i) => ({ id: i, type: 1, tags: null, geometry: [[i, i]] }) as GeoJSONVTFeature);
    const fitted = fitBudget({ features: (subset) => (subset ? Array.from(subset, (i) => features[i] as GeoJSONVTFeature) : features) }, {
      maxBytes: 100_000, drop: 'smallest', tolerance: 3, sampleAbove: 100, candidates: Int32Array.from(ids, (_, i) => i), ids,
      size: new Float64Array(500), finalize: (l) => l, encode: (l) => encodeTile('l', l), restore: (l) => l,
    });
    expect(fitted?.features.length).toBe(500);
    expect(fitted?.sample).toBeUndefined();
  });
});
