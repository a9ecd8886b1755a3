import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { adminConfig, publishViaApi, startAdminNode } from '../helpers/admin-node.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, startParcelNode, stopNode, writeConfig, type TestNode } from '../helpers/test-node.js';

/** Parses the Prometheus text format into `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+?(?:\{.*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

describe('/metrics', () => {
  let dir: string;
  let node: TestNode;
  let source: string;
  const t = tileForLonLat(115.99, 36.45, 12);
  const scrape = async (): Promise<Map<string, number>> => {
    const res = await fetch(`${node.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(await res.text());
  };
  const value = (m: Map<string, number>, key: string): number => m.get(key) ?? 0;

  beforeAll(async () => {
    ({ dir, source, node } = await startParcelNode());
  });
  afterAll(() => stopNode(node, dir));

  it('counts requests and latency by route and status, never by raw URL', async () => {
    const before = await scrape();
    let bytes = 0;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${node.url}/tiles/parcels@1.0.0/12/${t.x}/${t.y}.mvt`, { headers: { 'accept-encoding': 'gzip' } });
      expect(res.status).toBe(200);
      bytes += Number(res.headers.get('content-length'));
      await res.arrayBuffer();
    }
    // HEAD sends no body: counted as a request, not as a tile served or bytes sent.
    const head = await fetch(`${node.url}/tiles/parcels@1.0.0/12/${t.x}/${t.y}.mvt`, { method: 'HEAD', headers: { 'accept-encoding': 'gzip' } });
    expect(head.status).toBe(200);
    expect((await fetch(`${node.url}/tiles/parcels/12/0/0.mvt`)).status).toBe(204);
    expect((await fetch(`${node.url}/tiles/nosuch/12/0/0.mvt`)).status).toBe(404);
    expect((await fetch(`${node.url}/tiles/parcels.json`)).status).toBe(200);
    expect((await fetch(`${node.url}/catalog`)).status).toBe(200);
    const after = await scrape();
    const delta = (key: string): number => value(after, key) - value(before, key);
    expect(delta('plantiles_http_requests_total{route="tile",status="200"}')).toBe(4);
    expect(delta('plantiles_http_requests_total{route="tile",status="204"}')).toBe(1);
    expect(delta('plantiles_http_requests_total{route="tile",status="404"}')).toBe(1);
    expect(delta('plantiles_http_requests_total{route="tilejson",status="200"}')).toBe(1);
    expect(delta('plantiles_http_requests_total{route="catalog",status="200"}')).toBe(1);
    expect(delta('plantiles_http_request_duration_seconds_count{route="tile",status="200"}')).toBe(4);
    expect(delta('plantiles_http_request_duration_seconds_bucket{le="+Inf",route="tile",status="200"}')).toBe(4);
    expect(delta('plantiles_tiles_served_total{layer="parcels"}')).toBe(3);
    expect(delta('plantiles_response_bytes_total{route="tile"}')).toBe(bytes);
    for (const key of after.keys()) expect(key).not.toMatch(/\/tiles\//);
  });

  it('shows each layer\'s current version as a labelled gauge, following publishes', async () => {
    expect(value(await scrape(), 'plantiles_layer_current_version_info{layer="parcels",version="1.0.0"}')).toBe(1);
    const fc = makeParcels();
    const p = fc.features[0]?.properties;
    if (p) p.TBMJ = 7;
    writeGeojson(source, fc);
    await node.publish('parcels');
    const m = await scrape();
    expect(value(m, 'plantiles_layer_current_version_info{layer="parcels",version="1.1.0"}')).toBe(1);
    expect(m.has('plantiles_layer_current_version_info{layer="parcels",version="1.0.0"}')).toBe(false);
  });

  it('counts SSE clients, the tile cache and the process', async () => {
    const controller = new AbortController();
    const sse = await fetch(`${node.url}/events`, { signal: controller.signal });
    expect(sse.status).toBe(200);
    try {
      const m = await scrape();
      expect(value(m, 'plantiles_sse_clients')).toBe(1);
      expect(value(m, 'plantiles_tile_cache_hits_total')).toBeGreaterThan(0);
      expect(value(m, 'plantiles_tile_cache_bytes')).toBeGreaterThan(0);
      expect(m.has('plantiles_process_resident_memory_bytes')).toBe(true);
      expect(m.has('plantiles_nodejs_eventloop_lag_seconds')).toBe(true);
    } finally {
      controller.abort();
    }
  });
});

describe('/metrics of a node running publish jobs', () => {
  it('records each job\'s duration by layer and outcome, once, as the job reports it', async () => {
    const dir = makeTempDir();
    const source = path.join(dir, 'parcels.geojson');
    writeGeojson(source, makeParcels());
    const node = await startAdminNode(writeConfig(dir, adminConfig()));
    const histogram = async (): Promise<Map<string, number>> => {
      const m = parseMetrics(await (await fetch(`${node.url}/metrics`)).text());
      return new Map([...m].filter(([k]) => k.startsWith('plantiles_publish_duration_seconds')));
    };
    /** The job's recorded once its finish reaches the main thread: poll for it. */
    const until = async (key: string, count: number): Promise<Map<string, number>> => {
      for (let i = 0; ; i++) {
        const m = await histogram();
        if ((m.get(key) ?? 0) >= count || i > 200) return m;
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    try {
      expect([...(await histogram()).keys()]).toEqual([]);
      const first = await publishViaApi(node.url, 'parcels');
      expect(first.state).toBe('succeeded');
      const seconds = (Date.parse(first.finishedAt ?? '') - Date.parse(first.startedAt ?? '')) / 1000;
      let m = await until('plantiles_publish_duration_seconds_count{layer="parcels",outcome="published"}', 1);
      expect(m.get('plantiles_publish_duration_seconds_count{layer="parcels",outcome="published"}')).toBe(1);
      expect(m.get('plantiles_publish_duration_seconds_sum{layer="parcels",outcome="published"}')).toBeCloseTo(seconds, 3);
      expect(m.get('plantiles_publish_duration_seconds_bucket{le="+Inf",layer="parcels",outcome="published"}')).toBe(1);

      expect((await publishViaApi(node.url, 'parcels')).state).toBe('unchanged');
      writeGeojson(source, { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { BSM: 'x' }, geometry: { type: 'Polygon', coordinates: [[[116, 36]]] } }] });
      expect((await publishViaApi(node.url, 'parcels')).state).toBe('failed');
      m = await until('plantiles_publish_duration_seconds_count{layer="parcels",outcome="failed"}', 1);
      expect(m.get('plantiles_publish_duration_seconds_count{layer="parcels",outcome="unchanged"}')).toBe(1);
      expect(m.get('plantiles_publish_duration_seconds_count{layer="parcels",outcome="failed"}')).toBe(1);
      expect(m.get('plantiles_publish_duration_seconds_count{layer="parcels",outcome="published"}')).toBe(1);
    } finally {
      await node.stop();
      removeDir(dir);
    }
  });
});
