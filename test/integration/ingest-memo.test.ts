import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Feature, FeatureCollection, Polygon } from 'geojson';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parcelRing, seededRandom } from '../../bench/generate-parcels.js';
import { publishLayer, type PublishResult } from '../../pipeline/publish/publish-layer.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { makeParcels as makeGridParcels, writeGeojson } from '../helpers/fixtures.js';
import { hasOgr2ogr, ogrToGpkg, writeParcelShapefile } from '../fixtures/ingest/sources.js';
import { currentTileHashes, makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

type Parcel = Feature<Polygon, Record<string, string | number>>;

function makeParcels(count: number, seed: number): Parcel[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const cx = 115.8 + rnd() * 0.3;
    const cy = 36.3 + rnd() * 0.3;
    return {
      type: 'Feature',
      properties: { BSM: `371502${String(i + 1).padStart(12, '0')}`, DLMC: rnd() < 0.5 ? '水田' : '旱地', TBMJ: Math.round(rnd() * 1e5) / 10 },
      geometry: { type: 'Polygon', coordinates: [parcelRing(cx, cy, 0.001, 0.0008, 5 + Math.floor(rnd() * 10), rnd)] },
    };
  });
}


let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeDir(dir));

type Published = { result: PublishResult; hashes: Map<string, string>; version: string };

/** Publishes the layer `parcels` (from `source` in the test's folder) into a store in it, with `workers` tiling threads. */
async function publishWith(workers: number, storeDir: string, layerExtra: Record<string, unknown> = {}, source = 'parcels.geojson'): Promise<Published> {
  const config = writeConfig(dir, {
    node: { id: 'n', title: 't' }, storage: { dir: storeDir },
    layers: [{ id: 'parcels', source, idField: 'BSM', minzoom: 10, maxzoom: 13, ...layerExtra }],
  });
  const store = openSqliteStore(path.join(dir, storeDir));
  try {
    const result = await publishLayer(config.layers[0] as (typeof config.layers)[number], { store, keepVersions: 5, defaultAttribution: 't', workers });
    return { result, hashes: currentTileHashes(store, 'parcels'), version: result.version };
  } finally {
    store.close();
  }
}

// A republish takes records whose bytes did not change from the layer's ingest memo
// instead of reading them again; what it publishes must be what reading them gives.
// With tiling threads, a GeoJSON source's records are split and digested on one of them
// (read-geojson-thread.ts): the same records, recalled the same.
describe.each([0, 2])('ingest memo of a GeoJSON source, %i tiling threads', (workers) => {
  const publish = (storeDir: string, layerExtra: Record<string, unknown> = {}): Promise<Published> => publishWith(workers, storeDir, layerExtra);

  /** Publishes `parcels` in a fresh store with no memo: what a first read of them gives. */
  const reference = async (parcels: Parcel[], name: string, layerExtra: Record<string, unknown> = {}): Promise<Published> => {
    writeGeojson(path.join(dir, 'parcels.geojson'), { type: 'FeatureCollection', features: parcels } as FeatureCollection);
    return publish(`fresh-${name}`, layerExtra);
  };

  it('recalls unchanged records and publishes exactly what reading them gives', async () => {
    const parcels = makeParcels(400, 1);
    writeGeojson(path.join(dir, 'parcels.geojson'), { type: 'FeatureCollection', features: parcels } as FeatureCollection);
    const first = await publish('store');
    expect(first.result.recalledFeatures).toBe(0);
    const edited = parcels.map((p) => structuredClone(p));
    (edited[10] as Parcel).properties.DLMC = '果园';
    edited.splice(20, 1);
    edited.push(makeParcels(401, 2)[400] as Parcel);
    writeGeojson(path.join(dir, 'parcels.geojson'), { type: 'FeatureCollection', features: edited } as FeatureCollection);
    const second = await publish('store');
    // 398 records are byte for byte what they were; the edited and the new one are read.
    expect(second.result.recalledFeatures).toBe(398);
    expect(second.result.features).toBe(400);
    const fresh = await reference(edited, 'edited');
    expect(second.hashes).toEqual(fresh.hashes);
    expect(second.result.validation).toEqual(fresh.result.validation);
    expect(second.result.featureChanges).toMatchObject({ added: 1, removed: 1, changed: 1 });
    // Three records of 400 read again: the memo was kept as it was, so the edited and the new
    // record are read again next time too.
    expect(second.result.memoWritten).toBe(false);
    // Other tiling settings: every tile is cut again from the recalled features, which must be the features themselves.
    const retiled = await publish('store', { maxzoom: 14 });
    expect(retiled.result.recalledFeatures).toBe(398);
    expect(retiled.result.mode).toBe('full');
    expect(retiled.hashes).toEqual((await reference(edited, 'retiled', { maxzoom: 14 })).hashes);
  });

  it('keeps a memo that served all but a few records, and writes it anew once more have changed', async () => {
    const parcels = makeParcels(400, 6);
    writeGeojson(path.join(dir, 'parcels.geojson'), { type: 'FeatureCollection', features: parcels } as FeatureCollection);
    expect((await publish('store')).result.memoWritten).toBe(true);
    const memoFile = path.join(dir, 'store', 'memo', 'parcels.memo');
    const made = { bytes: readFileSync(memoFile), ino: statSync(memoFile).ino };
    // Edits add up: 8 records (2%), then 8 more (4% read again), then 8 more (6%).
    const edited = parcels.map((p) => structuredClone(p));
    const edit = (from: number): void => {
      for (let k = from; k < from + 8; k++) (edited[k] as Parcel).properties.TBMJ = 1 + k;
      writeGeojson(path.join(dir, 'parcels.geojson'), { type: 'FeatureCollection', features: edited } as FeatureCollection);
    };
    edit(0);
    const first = await publish('store');
    expect(first.result).toMatchObject({ recalledFeatures: 392, memoWritten: false });
    expect(statSync(memoFile).ino).toBe(made.ino);
    expect(readFileSync(memoFile).equals(made.bytes)).toBe(true);
    edit(100);
    const second = await publish('store');
    // The records edited before are read again, from the source, and publish what reading them gives.
    expect(second.result).toMatchObject({ recalledFeatures: 384, memoWritten: false, mode: 'incremental' });
    expect(second.hashes).toEqual((await reference(edited, 'second')).hashes);
    expect(readFileSync(memoFile).equals(made.bytes)).toBe(true);
    edit(200);
    const third = await publish('store');
    expect(third.result).toMatchObject({ recalledFeatures: 376, memoWritten: true });
    expect(third.hashes).toEqual((await reference(edited, 'third')).hashes);
    // Written anew, the memo holds the edited records: the next republish recalls all of them.
    expect(readFileSync(memoFile).equals(made.bytes)).toBe(false);
    expect((await publish('store')).result).toMatchObject({ recalledFeatures: 400, memoWritten: false, state: 'unchanged' });
  });

  it('ignores a memo that is damaged on disk, and one made under other settings', async () => {
    const parcels = makeParcels(200, 3);
    writeGeojson(path.join(dir, 'parcels.geojson'), { type: 'FeatureCollection', features: parcels } as FeatureCollection);
    await publish('store');
    const memoFile = path.join(dir, 'store', 'memo', 'parcels.memo');
    const bytes = readFileSync(memoFile);
    // A flipped bit in the coordinates would move a parcel without any other sign.
    bytes[bytes.length - 40_000] = (bytes[bytes.length - 40_000] as number) ^ 0x10;
    writeFileSync(memoFile, bytes);
    const again = await publish('store');
    expect(again.result.recalledFeatures).toBe(0);
    expect(again.result.state).toBe('unchanged');
    // The republish rewrote a sound memo: the next one recalls every record.
    expect((await publish('store')).result.recalledFeatures).toBe(200);
    // Other attributes published: the memo's features are not what ingest makes now.
    const narrowed = await publish('store', { fields: ['BSM', 'DLMC'] });
    expect(narrowed.result.recalledFeatures).toBe(0);
    expect(narrowed.hashes).toEqual((await reference(parcels, 'narrowed', { fields: ['BSM', 'DLMC'] })).hashes);
  });

  it('does not recall records read in another CRS', async () => {
    const parcels = makeParcels(100, 4);
    const write = (crs: string | null): void => {
      const doc = { type: 'FeatureCollection', ...(crs ? { crs: { type: 'name', properties: { name: crs } } } : {}), features: parcels };
      writeFileSync(path.join(dir, 'parcels.geojson'), JSON.stringify(doc));
    };
    write(null);
    await publish('store');
    write('EPSG:4490');
    const other = await publish('store');
    expect(other.result.recalledFeatures).toBe(0);
    write('EPSG:4490');
    expect((await publish('store')).result.recalledFeatures).toBe(100);
  });

  it('meets a repeated record with the duplicate-id policy, as a first read does', async () => {
    const parcels = makeParcels(50, 5);
    writeGeojson(path.join(dir, 'parcels.geojson'), { type: 'FeatureCollection', features: parcels } as FeatureCollection);
    const skip = { onInvalid: { identity: 'skip' } };
    await publish('store', skip);
    const doubled = [...parcels, parcels[7] as Parcel];
    writeGeojson(path.join(dir, 'parcels.geojson'), { type: 'FeatureCollection', features: doubled } as FeatureCollection);
    const second = await publish('store', skip);
    expect(second.result.recalledFeatures).toBe(50);
    expect(second.result.validation.skipped).toBe(1);
    const fresh = await reference(doubled, 'doubled', skip);
    expect(second.result.validation).toEqual(fresh.result.validation);
    expect(second.hashes).toEqual(fresh.hashes);
  });

});

// These formats are read on the publishing thread whatever the tiling threads.
describe('ingest memo of other formats', () => {
  const publish = (storeDir: string, layerExtra: Record<string, unknown>, source: string): Promise<Published> => publishWith(0, storeDir, layerExtra, source);

  it('recalls the records of a GeoJSONSeq source', async () => {
    const parcels = makeParcels(120, 6);
    const seq = (list: Parcel[]): void => writeFileSync(path.join(dir, 'parcels.geojsonl'), list.map((p) => JSON.stringify(p)).join('\n'));
    seq(parcels);
    await publish('store', {}, 'parcels.geojsonl');
    const edited = parcels.map((p) => structuredClone(p));
    (edited[3] as Parcel).geometry.coordinates[0]?.reverse();
    seq(edited);
    const second = await publish('store', {}, 'parcels.geojsonl');
    expect(second.result.recalledFeatures).toBe(119);
    seq(edited);
    expect((await publish('fresh-seq', {}, 'parcels.geojsonl')).hashes).toEqual(second.hashes);
  });

  it('recalls the records of a Shapefile with a fixed encoding, and none when the encoding is left to detection', async () => {
    const grid = makeGridParcels(12, 10);
    const base = path.join(dir, 'parcels');
    const extra = {};
    writeParcelShapefile(base, grid);
    await publish('store', extra, 'parcels.shp');
    const edited = structuredClone(grid);
    const props = edited.features[5]?.properties as Record<string, unknown>;
    props.DLMC = '果园';
    edited.features.push(structuredClone(edited.features[0]) as (typeof edited.features)[number]);
    const added = edited.features[edited.features.length - 1]?.properties as Record<string, unknown>;
    added.BSM = '371502999999999999';
    // A new record changes the .dbf header's record count: the records still read as before.
    writeParcelShapefile(base, edited);
    const second = await publish('store', extra, 'parcels.shp');
    expect(second.result.recalledFeatures).toBe(grid.features.length - 1);
    expect(second.result.featureChanges).toMatchObject({ added: 1, changed: 1 });
    const fresh = await publish('fresh-shp', extra, 'parcels.shp');
    expect(second.hashes).toEqual(fresh.hashes);
    expect(second.result.validation).toEqual(fresh.result.validation);
    // Without a .cpg the encoding is detected from the first text decoded: nothing is recalled.
    writeParcelShapefile(base, edited, { cpg: undefined });
    rmSync(`${base}.cpg`);
    expect((await publish('store', extra, 'parcels.shp')).result.recalledFeatures).toBe(0);
    expect((await publish('store', extra, 'parcels.shp')).result.recalledFeatures).toBe(0);
  });

  it.skipIf(!hasOgr2ogr)('recalls the rows of a GeoPackage', async () => {
    const parcels = makeParcels(150, 7);
    const gpkg = path.join(dir, 'parcels.gpkg');
    const write = (list: Parcel[]): void => {
      writeGeojson(path.join(dir, 'parcels.geojson'), { type: 'FeatureCollection', features: list } as FeatureCollection);
      rmSync(gpkg, { force: true });
      ogrToGpkg(path.join(dir, 'parcels.geojson'), gpkg);
    };
    write(parcels);
    await publish('store', {}, 'parcels.gpkg');
    const edited = parcels.map((p) => structuredClone(p));
    (edited[40] as Parcel).properties.TBMJ = 1.5;
    write(edited);
    const second = await publish('store', {}, 'parcels.gpkg');
    expect(second.result.recalledFeatures).toBe(149);
    expect(second.result.featureChanges).toMatchObject({ changed: 1 });
    expect((await publish('fresh-gpkg', {}, 'parcels.gpkg')).hashes).toEqual(second.hashes);
  });
});
