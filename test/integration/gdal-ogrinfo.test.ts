import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PROBE_PARCEL } from '../../pipeline/demo/generate-demo.js';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { startDemoNode, type DemoNode } from '../e2e/demo-node.js';
import { decodeTile } from '../helpers/mvt.js';

// GDAL (Debian's gdal-bin) as a client: ogrinfo reads single served tiles through /vsicurl/
// with its MVT driver, and the MBTiles file `plantiles export` writes.
const hasOgrinfo = spawnSync('ogrinfo', ['--version'], { encoding: 'utf8' }).status === 0;
const CLI = path.resolve('dist/src/cli/main.js');
const cliHelp = existsSync(CLI) ? spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout : '';
const hasExport = /^\s+export\b/m.test(cliHelp);
const title = (what: string, ok: boolean, reason: string): string => (ok ? what : `${what} [skipped: ${reason}]`);
const NO_OGRINFO = 'ogrinfo not found (apt-get install gdal-bin)';

/**
 * GDAL clips features to the tile's extent by default and drops those lying wholly in the
 * buffer; with CLIP=NO it reports every feature a tile holds, as our decoder counts them.
 */
const NO_CLIP = ['-oo', 'CLIP=NO'];

/** The demo's old town (聊城古城): heritage polygons and the canal line share its tiles. */
const OLD_TOWN: [number, number] = [115.99, 36.45];

/** What `ogrinfo -so` says about one layer. */
interface LayerSummary {
  name: string;
  geometry: string;
  count: number;
  fields: Record<string, string>;
}

/** One feature of `ogrinfo -al`: its attributes (as printed) and its geometry as WKT. */
interface OgrFeature {
  props: Record<string, string>;
  wkt: string;
}

/** Runs ogrinfo without blocking: the server it reads from lives in this process. */
function ogrinfo(args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ogrinfo', ['-ro', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ogrinfo ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function summaries(text: string): LayerSummary[] {
  return text.split(/^Layer name: /m).slice(1).map((block) => {
    const lines = block.split('\n');
    const fields: Record<string, string> = {};
    for (const line of lines) {
      const m = /^(\w+): (String|Real|Integer64|Integer|Date|DateTime|Time|Binary)\b/.exec(line);
      if (m?.[1] && m[2]) fields[m[1]] = m[2];
    }
    return {
      name: (lines[0] ?? '').trim(),
      geometry: /^Geometry: (.+)$/m.exec(block)?.[1] ?? '',
      count: Number(/^Feature Count: (\d+)$/m.exec(block)?.[1] ?? NaN),
      fields,
    };
  });
}

function features(text: string): OgrFeature[] {
  return text.split(/^OGRFeature\([^)]*\):\d+$/m).slice(1).map((block) => {
    const props: Record<string, string> = {};
    let wkt = '';
    for (const line of block.split('\n')) {
      const attr = /^ {2}(\w+) \([\w ]+\) = (.*)$/.exec(line);
      if (attr?.[1] && attr[2] !== undefined) props[attr[1]] = attr[2];
      else if (/^ {2}[A-Z]+ ?(\(|EMPTY)/.test(line)) wkt = line.trim();
    }
    return { props, wkt };
  });
}

/** Web Mercator metres of a lon/lat (the CRS GDAL's MVT driver reports). */
function mercator([lon, lat]: readonly [number, number]): [number, number] {
  const r = 6378137;
  return [(r * lon * Math.PI) / 180, r * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360))];
}

/** True when `point` is inside the first ring of a WKT POLYGON / MULTIPOLYGON. */
function insideFirstRing(wkt: string, [px, py]: [number, number]): boolean {
  const ring = /\(\(+([^()]+)\)/.exec(wkt)?.[1]?.split(',').map((pair) => pair.trim().split(/\s+/).map(Number)) ?? [];
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi = 0, yi = 0] = ring[i] ?? [];
    const [xj = 0, yj = 0] = ring[j] ?? [];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** GDAL's field types for the TileJSON's `String`/`Number`/`Boolean`. */
function gdalTypeMatches(tilejsonType: string, gdalType: string | undefined): boolean {
  if (tilejsonType === 'String') return gdalType === 'String';
  if (tilejsonType === 'Number') return gdalType === 'Real' || gdalType === 'Integer' || gdalType === 'Integer64';
  return gdalType === 'Integer' || gdalType === 'String';
}

describe.skipIf(!hasOgrinfo)(title('GDAL reads what plantiles serves and exports', hasOgrinfo, NO_OGRINFO), () => {
  let node: DemoNode;
  let farmlandFields: Record<string, string>;

  beforeAll(async () => {
    node = await startDemoNode(['farmland', 'heritage']);
    const tilejson = (await (await fetch(`${node.url}/tiles/farmland.json`)).json()) as { vector_layers: { fields: Record<string, string> }[] };
    farmlandFields = tilejson.vector_layers[0]?.fields ?? {};
  });
  afterAll(async () => {
    await node?.dispose();
  });

  /** Feature counts per layer of a served tile, decoded by our own reader for comparison. */
  async function decodedCounts(tilePath: string): Promise<Record<string, number>> {
    const res = await fetch(`${node.url}${tilePath}`);
    expect(res.status).toBe(200);
    const layers = decodeTile(new Uint8Array(await res.arrayBuffer()));
    return Object.fromEntries(Object.entries(layers).map(([name, layer]) => [name, layer.features.length]));
  }

  const probeTile = tileForLonLat(DEMO_PROBE_PARCEL.centroid[0], DEMO_PROBE_PARCEL.centroid[1], 14);
  const probePaths = [
    `/tiles/farmland@1.0.0/14/${probeTile.x}/${probeTile.y}.mvt`,
    `/tiles/farmland/14/${probeTile.x}/${probeTile.y}.pbf`,
  ];

  for (const [encoding, env] of [['plain', {}], ['gzip', { GDAL_HTTP_HEADERS: 'Accept-Encoding: gzip' }]] as const) {
    it(`reads a served tile through /vsicurl/ (${encoding} body): its layer, fields and feature count`, async () => {
      for (const tilePath of probePaths) {
        const expected = await decodedCounts(tilePath);
        const [layer, ...others] = summaries(await ogrinfo(['-so', '-al', ...NO_CLIP, `MVT:/vsicurl/${node.url}${tilePath}`], env));
        expect(others, tilePath).toEqual([]);
        expect(layer).toMatchObject({ name: 'farmland', geometry: 'Polygon', count: expected.farmland });
        expect(layer?.count).toBeGreaterThan(5);
        expect(Object.keys(layer?.fields ?? {}).filter((f) => f !== 'mvt_id').sort()).toEqual(Object.keys(farmlandFields).sort());
        for (const [field, type] of Object.entries(farmlandFields)) {
          expect(gdalTypeMatches(type, layer?.fields[field]), `${field}: ${type} read as ${layer?.fields[field]}`).toBe(true);
        }
      }
    });
  }

  it('finds the known parcel in a served tile, with its Chinese attributes, where it lies', async () => {
    const text = await ogrinfo(['-al', '-q', '-where', `BSM = '${DEMO_PROBE_PARCEL.bsm}'`, `MVT:/vsicurl/${node.url}${probePaths[0]}`]);
    const [parcel, ...others] = features(text);
    expect(others).toEqual([]);
    expect(parcel?.props).toMatchObject({ BSM: DEMO_PROBE_PARCEL.bsm, DLBM: DEMO_PROBE_PARCEL.dlbm, DLMC: DEMO_PROBE_PARCEL.dlmc, XZQDM: DEMO_PROBE_PARCEL.xzqdm });
    expect(Number(parcel?.props.TBMJ)).toBeCloseTo(DEMO_PROBE_PARCEL.tbmj, 1);
    expect(insideFirstRing(parcel?.wkt ?? '', mercator(DEMO_PROBE_PARCEL.centroid))).toBe(true);
  });

  it('reads a tile mixing polygons and lines (heritage areas and the canal)', async () => {
    const t = tileForLonLat(OLD_TOWN[0], OLD_TOWN[1], 12);
    const tilePath = `/tiles/heritage@1.0.0/12/${t.x}/${t.y}.mvt`;
    const expected = await decodedCounts(tilePath);
    const all = features(await ogrinfo(['-al', '-q', ...NO_CLIP, `MVT:/vsicurl/${node.url}${tilePath}`]));
    expect(all.length).toBe(expected.heritage);
    const kinds = new Set(all.map((f) => /^[A-Z]+/.exec(f.wkt)?.[0]));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['LINESTRING', 'POLYGON']));
    expect(all.map((f) => f.props.MC).join(' ')).toMatch(/聊城古城历史文化街区/);
  });

  it.skipIf(!hasExport)(title('reads the MBTiles export: layer, fields, per-zoom feature counts, parcel in place (TMS rows)', hasExport, 'the built CLI has no export command (npm run build)'), async () => {
    const file = path.join(node.dir, 'farmland.mbtiles');
    const configFile = path.join(node.dir, 'plantiles.yaml');
    const run = spawnSync(process.execPath, [CLI, 'export', 'farmland@1.0.0', file, '--config', configFile], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);

    const db = new Database(file, { readonly: true });
    const countAt = (z: number): number => (db.prepare('SELECT tile_data FROM tiles WHERE zoom_level = ?').all(z) as { tile_data: Buffer }[])
      .reduce((sum, row) => sum + (decodeTile(gunzipSync(row.tile_data)).farmland?.features.length ?? 0), 0);
    const expected = { 10: countAt(10), 14: countAt(14) };
    db.close();

    // GDAL reads one zoom level of an MBTiles file: the highest unless ZOOM_LEVEL says otherwise.
    const [top] = summaries(await ogrinfo(['-so', ...NO_CLIP, file, 'farmland']));
    // The geometry type comes from the metadata's tilestats: without it GDAL says "Unknown (any)".
    expect(top).toMatchObject({ name: 'farmland', geometry: 'Multi Polygon', count: expected[14] });
    expect(Object.keys(top?.fields ?? {}).filter((f) => f !== 'mvt_id').sort()).toEqual(Object.keys(farmlandFields).sort());
    const [z10] = summaries(await ogrinfo(['-so', ...NO_CLIP, '-oo', 'ZOOM_LEVEL=10', file, 'farmland']));
    expect(z10?.count).toBe(expected[10]);
    expect(expected[10]).toBeGreaterThan(1000);

    // A tile stored in the wrong row order would put the parcel somewhere else entirely.
    const [x, y] = mercator(DEMO_PROBE_PARCEL.centroid);
    const near = ['-spat', String(x - 50), String(y - 50), String(x + 50), String(y + 50)];
    const hits = features(await ogrinfo(['-al', '-q', ...near, '-where', `BSM = '${DEMO_PROBE_PARCEL.bsm}'`, file, 'farmland']));
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]?.props.DLMC).toBe(DEMO_PROBE_PARCEL.dlmc);
    expect(hits.some((f) => insideFirstRing(f.wkt, [x, y]))).toBe(true);
  });
});
