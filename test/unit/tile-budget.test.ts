import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { describe, expect, it } from 'vitest';
import { fitBudget, type BudgetContext, type TileFeatureSource } from '../../pipeline/tile/fit-budget.js';
import { encodeTile } from '../../pipeline/tile/encode-tile.js';

/** n polygons of growing size (feature i has side `smallest` + i % 40 units and 24 vertices), ids = indices. */
function polygons(n: number, smallest = 4): GeoJSONVTFeature[] {
  return Array.from({ length: n }, (_, i) => {
    const side = smallest + (i % 40);
    const x0 = (i * 37) % 3900;
    const y0 = (i * 91) % 3900;
    const ring: [number, number][] = [];
    for (let k = 0; k < 24; k++) {
      const a = (2 * Math.PI * k) / 24;
      ring.push([Math.round(x0 + side * (1 + Math.cos(a))), Math.round(y0 + side * (1 + Math.sin(a)))]);
    }
    // Clockwise in y-down tile space: an MVT exterior.
    ring.reverse();
    ring.push(ring[0] as [number, number]);
    return { id: i, type: 3, tags: null, geometry: [ring] };
  });
}

/** A source over a fixed feature list, recording what it was asked for. */
function sourceOf(all: GeoJSONVTFeature[]): TileFeatureSource & { asked: (number | 'all')[] } {
  const asked: (number | 'all')[] = [];
  return {
    asked,
    features: (subset) => {
      asked.push(subset ? subset.length : 'all');
      if (!subset) return all;
      const keep = new Set(subset);
      return all.filter((f) => keep.has(f.id as number));
    },
  };
}

function finalize(list: GeoJSONVTFeature[]): GeoJSONVTFeature[] {
  return list.map((f) => ({ ...f, id: 1000 + (f.id as number), tags: { n: f.id as number } }));
}

function context(n: number, over: Partial<BudgetContext>): BudgetContext {
  const size = Float64Array.from({ length: n }, (_, i) => (4 + (i % 40)) ** 2);
  return {
    maxBytes: 4096, drop: 'smallest', tolerance: 3, sampleAbove: 1_000_000,
    candidates: Int32Array.from({ length: n }, (_, i) => i), ids: Float64Array.from({ length: n }, (_, i) => 1000 + i), size, finalize,
    encode: (list) => encodeTile('l', finalize(list)),
    restore: (list) => list,
    ...over,
  };
}

describe('the tile size budget', () => {
  it('leaves a tile within the budget alone', () => {
    const all = polygons(20);
    const fitted = fitBudget(sourceOf(all), context(20, {}));
    expect(fitted?.note).toBeNull();
    expect(fitted?.features).toBe(all);
  });

  it('drops the smallest features of a tile far over it, and reports how many', () => {
    const all = polygons(2000);
    const ctx = context(2000, {});
    const fitted = fitBudget(sourceOf(all), ctx);
    expect(fitted?.encoded.gz.length).toBeLessThanOrEqual(4096);
    expect(fitted?.note).toMatchObject({ over: false, simplifiedTo: 0 });
    expect(fitted?.note?.before).toBeGreaterThan(4096 * 2);
    const kept = new Set(fitted?.features.map((f) => f.id as number));
    expect(fitted?.note?.dropped).toBe(2000 - kept.size);
    const keptSizes = [...kept].map((i) => ctx.size[i] as number);
    const droppedSizes = all.filter((f) => !kept.has(f.id as number)).map((f) => ctx.size[f.id as number] as number);
    expect(Math.min(...keptSizes)).toBeGreaterThanOrEqual(Math.max(...droppedSizes));
    // Among features of the smallest size kept, the earliest in the source are the ones kept.
    const boundary = all.map((f) => f.id as number).filter((i) => ctx.size[i] === Math.min(...keptSizes));
    const keptAtBoundary = boundary.filter((i) => kept.has(i));
    expect(keptAtBoundary.length).toBeLessThan(boundary.length);
    expect(keptAtBoundary).toEqual(boundary.slice(0, keptAtBoundary.length));
    // Most of the budget is used: the search keeps as many as fit.
    expect(fitted?.encoded.gz.length).toBeGreaterThan(4096 * 0.75);
  });

  it('sizes a tile with many candidates from a sample and cuts it from its largest features only', () => {
    const all = polygons(3000);
    const source = sourceOf(all);
    const fitted = fitBudget(source, context(3000, { sampleAbove: 500 }));
    expect(fitted?.encoded.gz.length).toBeLessThanOrEqual(4096);
    expect(source.asked).not.toContain('all');
    expect(Math.max(...source.asked.map(Number))).toBeLessThan(3000);
  });

  it('thins a tile of features smaller than the simplification, which would erase them, and reports what simplifying removed', () => {
    // 1,200 rings 5 units across: simplifying at 4x the tolerance (12 units) removes every one
    // (area under 12^2); a few large ones survive it.
    const tiny = (i: number): GeoJSONVTFeature => {
      const [x, y] = [(i * 37) % 4000, (i * 91) % 4000];
      const size = i % 100 === 0 ? 60 : 5;
      return { id: i, type: 3, tags: null, geometry: [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]] };
    };
    const all = Array.from({ length: 1200 }, (_, i) => tiny(i));
    const size = Float64Array.from({ length: 1200 }, (_, i) => (i % 100 === 0 ? 3600 : 25));
    const plain = encodeTile('l', finalize(all)).gz.length;
    // Just over the budget (at most 1.5x), where simplification is tried first.
    const maxBytes = Math.floor(plain / 1.3);
    const fitted = fitBudget(sourceOf(all), context(1200, { maxBytes, size }));
    expect(fitted?.encoded.gz.length).toBeLessThanOrEqual(maxBytes);
    expect(fitted?.note).toMatchObject({ simplifiedTo: 0, simplifiedAway: 0 });
    // Thinning keeps most of them (about 1/1.3 of the bytes); simplifying would have kept 12.
    expect(fitted?.features.length).toBeGreaterThan(600);
    expect(fitted?.note?.dropped).toBe(1200 - (fitted?.features.length ?? 0));

    // Sized from a sample, the same tile is thinned without cutting every candidate: the sample
    // shows that simplifying would erase it.
    const sampled = sourceOf(all);
    const fromSample = fitBudget(sampled, context(1200, { maxBytes, size, sampleAbove: 400 }));
    expect(sampled.asked).not.toContain('all');
    expect(fromSample?.note?.before).toBeGreaterThan(maxBytes * 1.25);
    expect(fromSample?.note?.before).toBeLessThan(maxBytes * 2);
    expect(fromSample?.features.length).toBeGreaterThan(600);
    expect(fromSample?.encoded.gz.length).toBeLessThanOrEqual(maxBytes);

    // Where simplifying removes a few features only, it is taken, and says how many it removed.
    // Wound as exteriors (positive area in y-down tile space), which cleaning keeps.
    const large = polygons(600, 40).map((f) => ({ ...f, geometry: (f.geometry as [number, number][][]).map((ring) => [...ring].reverse()) }));
    const mixed = large.concat(Array.from({ length: 20 }, (_, k) => ({ ...tiny(601 + k * 100), id: 600 + k })));
    const mixedSize = Float64Array.from({ length: 620 }, (_, i) => (i < 600 ? (40 + (i % 40)) ** 2 : 25));
    const mixedBytes = encodeTile('l', finalize(mixed)).gz.length;
    const simplified = fitBudget(sourceOf(mixed), context(620, { maxBytes: Math.floor(mixedBytes / 1.1), size: mixedSize }));
    expect(simplified?.note?.simplifiedTo).toBe(12);
    expect(simplified?.note?.dropped).toBe(0);
    expect(simplified?.note?.simplifiedAway).toBe(620 - (simplified?.features.length ?? 0));
    expect(simplified?.note?.simplifiedAway).toBeGreaterThanOrEqual(20);
  });

  it('on a drop: never layer, simplifies instead, keeps every feature, and says when the tile stays over', () => {
    const all = polygons(300);
    // As the tiler does for features a tile owns: one that simplification removed comes back as a pixel square.
    const restore = (list: GeoJSONVTFeature[]): GeoJSONVTFeature[] => {
      const present = new Set(list.map((f) => f.id));
      const back = all.filter((f) => !present.has(f.id)).map((f) => {
        const [x, y] = (f.geometry as [number, number][][])[0]?.[0] ?? [0, 0];
        return { ...f, geometry: [[[x, y], [x + 8, y], [x + 8, y + 8], [x, y + 8], [x, y]]] } as GeoJSONVTFeature;
      });
      return [...list, ...back].sort((a, b) => (a.id as number) - (b.id as number));
    };
    const fitted = fitBudget(sourceOf(all), context(300, { drop: 'never', maxBytes: 2048, restore }));
    expect(fitted?.features.map((f) => f.id)).toEqual(all.map((f) => f.id));
    expect(fitted?.note?.simplifiedTo).toBeGreaterThan(3);
    expect(fitted?.note?.dropped).toBe(0);
    expect(fitted?.note?.over).toBe(fitted ? fitted.encoded.gz.length > 2048 : false);
    expect(fitted?.note?.after).toBeLessThan(fitted?.note?.before ?? 0);
  });

  it('gives the same bytes for the same tile, every time', () => {
    const a = fitBudget(sourceOf(polygons(1500)), context(1500, { sampleAbove: 400 }));
    const b = fitBudget(sourceOf(polygons(1500)), context(1500, { sampleAbove: 400 }));
    expect(a?.encoded.hash).toBe(b?.encoded.hash);
    expect(a?.note).toEqual(b?.note);
  });
});
