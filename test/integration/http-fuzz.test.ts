import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/generate-parcels.js';
import { loadConfig } from '../../src/config/load-config.js';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { buildOpenApi } from '../../src/server/openapi.js';
import { adminConfig, publishViaApi, startAdminNode, TOKENS, type AdminNode } from '../helpers/admin-node.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

// "No request can produce a 500 from bad input" (SPEC §3.3), tried the way a scanner
// would: every documented operation, its path parameters, query and headers replaced by
// malformed or hostile values drawn (seeded) from the pool below, and a list of odd raw
// paths. Every answer must be below 500, every error answer JSON carrying `error`, and
// the node must still be healthy at the end.

interface Parameter { name: string; in: string }
interface Operation { parameters?: Parameter[]; requestBody?: unknown }

const doc = buildOpenApi('http://example.test', 'test', '0.0.0') as { paths: Record<string, Record<string, Operation>> };
const operations = Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).map(([method, op]) => ({ path: p, method: method.toUpperCase(), op })));

/** Path segments a client should never send, and a few it may (so deeper code runs too). */
const SEGMENTS = [
  '', '-1', '0', '1', '12', '31', '1.5', '1e3', '0x10', '007', '-0', '4096', '2147483648', '9'.repeat(30),
  '%00', '%2F', '..', '%2E%2E', '%ff', '%E0%A4%A', '%', '%%', 'NaN', 'Infinity', 'null', '%20', '%0A',
  'a'.repeat(70), 'x'.repeat(3000), '%E8%80%95%E5%9C%B0', '@', '%40', '*', '%3Cscript%3E', '%22', '%27', '%5C',
  'parcels', 'parcels@', 'parcels@1', 'parcels@1.0', 'parcels@01.0.0', 'parcels@1.0.0+x', 'parcels@1.0.0', 'parcels%401.0.0',
  'parcels@99.0.0', 'parcels,parcels', 'parcels,', ',', 'parcels,nope', 'nope', 'parcels@1.0.0,parcels@9.9.9',
];
const QUERY_VALUES = ['', '-5', 'abc', '1e99', '9'.repeat(23), '0', '1', '%ff', '%00', 'x'.repeat(3000), '1.5', '[]'];
const HEADER_VALUES = ['', '*', '"abc"', 'W/"x"', '"x.gz", "y"', 'gzip;q=0', 'identity;q=0, *;q=0', 'br', 'x'.repeat(4000), '-1', '1e99'];
const BODIES = ['', '{', '[]', 'null', '{"version":1}', '{"version":"x"}', '{"version":"1.0.0"}', '{"version":"99.0.0"}', '\u0000\u0001', '{"type":"FeatureCollection"}'];
const CONTENT_TYPES = ['application/json', 'text/plain', 'application/zip', 'application/geo+json', 'image/png', 'multipart/form-data; boundary=x', ''];

const parcelTile = tileForLonLat(115.99, 36.45, 12);
/** Tiles of the published layer: one with parcels, one empty, by current and versioned URL. */
const REAL_TILES: Record<string, string>[] = ['parcels', 'parcels@1.0.0', 'parcels%401.0.0'].flatMap((tileset) => [
  { tileset, z: '12', x: String(parcelTile.x), y: String(parcelTile.y) },
  { tileset, z: '12', x: '0', y: '0' },
]);


interface Attempt { method: string; path: string; headers: Record<string, string>; body?: string }
interface Answer { status: number; type: string; body: string }

/** Sends one request as given (the path byte for byte), reading at most 64 KiB of the answer (an event stream is cut off). */
function send(base: URL, a: Attempt): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, method: a.method, path: a.path, headers: a.headers }, (res) => {
      let body = '';
      const done = (): void => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > 65536 || String(res.headers['content-type']).startsWith('text/event-stream')) {
          res.destroy();
          done();
        }
      });
      res.on('end', done);
      res.on('error', done);
    });
    req.on('error', reject);
    req.end(a.body);
  });
}

function attemptsFor(next: () => number): Attempt[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const out: Attempt[] = [];
  for (const { path: template, method, op } of operations) {
    for (let k = 0; k < 30; k++) {
      let p = template;
      const headers: Record<string, string> = {};
      const query: string[] = [];
      // Half the tile requests name a real tile (with data, or empty), so their headers reach the tile code.
      const real = template.includes('{z}') && next() < 0.5 ? pick(REAL_TILES) : null;
      for (const param of op.parameters ?? []) {
        if (param.in === 'path') p = p.replace(`{${param.name}}`, real?.[param.name] ?? pick(SEGMENTS));
        else if (param.in === 'query') query.push(`${param.name}=${pick(QUERY_VALUES)}`);
        else if (param.in === 'header') headers[param.name] = pick(HEADER_VALUES);
      }
      headers['accept-encoding'] = pick(HEADER_VALUES);
      if (template.startsWith('/admin/')) headers.authorization = next() < 0.8 ? `Bearer ${TOKENS.city}` : pick(['Bearer', 'Bearer x', `Basic ${TOKENS.city}`, '']);
      const attempt: Attempt = { method, path: query.length ? `${p}?${query.join('&')}` : p, headers };
      if (op.requestBody !== undefined) {
        const type = pick(CONTENT_TYPES);
        if (type) headers['content-type'] = type;
        attempt.body = pick(BODIES);
      }
      out.push(attempt);
    }
  }
  return out;
}

/** Raw paths no route template produces. */
const RAW = [
  '/tiles/', '/tiles//1/2/3.mvt', '/tiles/parcels/1/2/3.mvt.gz', '/tiles/parcels/1/2/3', '/tiles/parcels/1/2.mvt', '/tiles/parcels/1/2/3/4.mvt',
  '/tiles/parcels%252F..%252Fx/1/0/0.mvt', '/tiles/parcels.json.json', '/tiles/.json', '/tiles/@1.0.0.json', '/tiles/parcels@1.0.0/diff/',
  '/tiles/parcels@1.0.0/diff/%ff', '/%', '//', '/./catalog', '/catalog/..', '/changes?since=1&since=2', '/changes?since[]=1',
  '/events?lastEventId=1&lastEventId=2', '/admin/jobs/1e3', '/admin/jobs/-1', '/admin/jobs/99999999999999999999', '/metrics/x', '/openapi.json/x',
];

describe('bad requests, generated', () => {
  let dir: string;
  let node: AdminNode;

  beforeAll(async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    node = await startAdminNode(loadConfig(writeConfig(dir, adminConfig()).file));
    await publishViaApi(node.url, 'parcels');
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  it('answers every one below 500, errors in JSON with an `error`, and stays healthy', async () => {
    const base = new URL(node.url);
    const attempts = [...attemptsFor(seededRandom(20261201)), ...RAW.map((p) => ({ method: 'GET', path: p, headers: {} }))];
    const wrong: string[] = [];
    const statuses = new Map<number, number>();
    for (const a of attempts) {
      const answer = await send(base, a);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const at = `${a.method} ${a.path.slice(0, 120)} ${JSON.stringify(a.headers).slice(0, 120)}`;
      if (answer.status >= 500 || answer.status < 200) wrong.push(`${answer.status} for ${at}`);
      else if (answer.status >= 400) {
        const error = answer.type.startsWith('application/json') ? (JSON.parse(answer.body) as { error?: unknown }).error : undefined;
        if (typeof error !== 'string' || !error) wrong.push(`no JSON error text in ${answer.status} (${answer.type}) for ${at}`);
      }
    }
    expect(wrong).toEqual([]);
    // The pool reaches past validation too: some answers are successes (tiles, TileJSON, a rollback).
    expect(attempts.length).toBeGreaterThan(600);
    expect([...statuses.keys()].filter((s) => s < 300).length).toBeGreaterThan(1);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(2);
    const health = await fetch(`${node.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
