import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as shapefile from 'shapefile';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemo } from '../../pipeline/demo/generate-demo.js';
import { publishLayer, type PublishResult } from '../../pipeline/publish/publish-layer.js';
import { featureIdFor } from '../../src/domain/feature-id.js';
import { decodeTile } from '../helpers/mvt.js';
import { validateMvt } from '../helpers/mvt-validate.js';
import { makeTempDir, removeDir, startTestNode, writeConfig, type TestNode } from '../helpers/test-node.js';

interface DemoLayer { id: string; source: string; minzoom: number; maxzoom: number; drop?: string; buffer?: number }

// Every tile of every layer of the demo city, as the demo config publishes it, checked
// against the MVT 2.1 rules by a validator that reads the protobuf itself.
describe('tiles of the demo city', () => {
  let dir: string;
  let node: TestNode;
  let layers: DemoLayer[];
  const results = new Map<string, PublishResult>();

  beforeAll(async () => {
    dir = makeTempDir();
    await generateDemo(path.join(dir, 'demo'));
    const demoConfig = parse(readFileSync(path.join(import.meta.dirname, '../../config/plantiles.yaml'), 'utf8')) as { layers: DemoLayer[] };
    layers = demoConfig.layers.map((l) => ({ ...l, source: `demo/${path.basename(l.source)}` }));
    const config = writeConfig(dir, { node: { id: 'demo', title: 'synthetic demo' }, storage: { dir: './store' }, layers });
    node = await startTestNode(config);
    for (const layer of config.layers) {
      results.set(layer.id, await publishLayer(layer, { store: node.rt.store, keepVersions: 5, defaultAttribution: 'synthetic', workers: 2 }));
    }
    node.rt.feed.poll(true);
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  /** Every tile of a layer's current version: address and plain bytes. */
  const tilesOf = (id: string): { z: number; x: number; y: number; plain: Uint8Array; gz: number }[] => {
    const layer = node.rt.store.getLayer(id);
    if (!layer?.currentVid) throw new Error(`layer ${id} not published`);
    return [...node.rt.store.iterateTiles(layer.currentVid)].map((t) => ({ z: t.z, x: t.x, y: t.y, plain: gunzipSync(t.gz), gz: t.gz.length }));
  };

  it('publishes every layer, and every tile is valid MVT 2.1 within its buffer', () => {
    expect(layers.map((l) => l.id).sort()).toEqual(['eco-redline', 'farmland', 'heritage', 'pbf', 'projects', 'ubound']);
    let checked = 0;
    for (const layer of layers) {
      const tiles = tilesOf(layer.id);
      expect(tiles.length, layer.id).toBeGreaterThan(0);
      expect(tiles.length).toBe(results.get(layer.id)?.tiles);
      for (const t of tiles) {
        const problems = validateMvt(t.plain, { buffer: layer.buffer ?? 64 });
        expect(problems, `${layer.id} ${t.z}/${t.x}/${t.y}`).toEqual([]);
        expect(t.z).toBeGreaterThanOrEqual(layer.minzoom);
        expect(t.z).toBeLessThanOrEqual(layer.maxzoom);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('keeps every tile within the size budget, and reports none over it', () => {
    for (const layer of layers) {
      const result = results.get(layer.id) as PublishResult;
      expect(result.budget.overBudget, layer.id).toBe(0);
      for (const t of tilesOf(layer.id)) expect(t.gz, `${layer.id} ${t.z}/${t.x}/${t.y}`).toBeLessThanOrEqual(512_000);
    }
  });

  it('serves the stored bytes over HTTP, decodable by an independent decoder', async () => {
    for (const layer of layers) {
      const t = tilesOf(layer.id)[0];
      if (!t) throw new Error(`no tile for ${layer.id}`);
      const res = await fetch(`${node.url}/tiles/${layer.id}/${t.z}/${t.x}/${t.y}.mvt`, { headers: { 'accept-encoding': 'identity' } });
      expect(res.status).toBe(200);
      const body = new Uint8Array(await res.arrayBuffer());
      expect(Buffer.from(body).equals(Buffer.from(t.plain))).toBe(true);
      expect(decodeTile(body)[layer.id]?.features.length).toBeGreaterThan(0);
    }
  });

  // drop: never (pbf, eco-redline in the demo config): checked from the source files and the decoded tiles,
  // independently of the publish's own check.
  it('keeps every feature of the drop: never layers at every zoom of their range', async () => {
    const never = layers.filter((l) => l.drop === 'never');
    expect(never.map((l) => l.id).sort()).toEqual(['eco-redline', 'pbf']);
    for (const layer of never) {
      const expected = await sourceIds(path.join(dir, layer.source));
      expect(expected.size).toBeGreaterThan(10);
      const seen = new Map<number, Set<number>>();
      for (const t of tilesOf(layer.id)) {
        const ids = seen.get(t.z) ?? new Set<number>();
        for (const f of decodeTile(t.plain)[layer.id]?.features ?? []) if (f.id !== undefined) ids.add(f.id);
        seen.set(t.z, ids);
      }
      for (let z = layer.minzoom; z <= layer.maxzoom; z++) {
        const missing = [...expected].filter((id) => !seen.get(z)?.has(id));
        expect(missing, `${layer.id} zoom ${z}`).toEqual([]);
      }
    }
  });
});

/** MVT ids of a demo source's features, from their BSM, read with other readers than the pipeline's. */
async function sourceIds(file: string): Promise<Set<number>> {
  const ids = new Set<number>();
  if (file.endsWith('.geojson')) {
    const fc = JSON.parse(readFileSync(file, 'utf8')) as { features: { properties: { BSM: string } }[] };
    for (const f of fc.features) ids.add(featureIdFor(f.properties.BSM));
    return ids;
  }
  const src = await shapefile.open(file, file.replace(/\.shp$/, '.dbf'), { encoding: 'gbk' });
  for (let r = await src.read(); !r.done; r = await src.read()) ids.add(featureIdFor((r.value.properties as { BSM: string }).BSM));
  return ids;
}
