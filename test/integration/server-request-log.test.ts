import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/cli/commands/serve.js';
import { openRuntime, type Runtime } from '../../src/cli/runtime.js';
import { publishLayer } from '../../pipeline/publish/publish-layer.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

interface LogLine { level: number; msg: string; req?: { id?: string; method?: string; url?: string }; res?: { statusCode?: number }; responseTime?: number }

// Structured access logs: one JSON line per request, with a request id echoed to the client, and no secrets.
describe('request logs', () => {
  let dir: string;
  let rt: Runtime;
  let server: RunningServer;
  const raw: string[] = [];
  const lines = (): LogLine[] => raw.join('').split('\n').filter((l) => l).map((l) => JSON.parse(l) as LogLine);
  const logOf = async (url: string): Promise<LogLine> => {
    for (let i = 0; i < 50; i++) {
      const line = lines().find((l) => l.req?.url === url);
      if (line) return line;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no log line for ${url}`);
  };

  beforeAll(async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    const config = writeConfig(dir, parcelConfig());
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { raw.push(chunk.toString()); done(); } });
    rt = openRuntime(config, pino({ level: 'info' }, sink));
    const layer = config.layers[0];
    if (!layer) throw new Error('fixture');
    await publishLayer(layer, { store: rt.store, keepVersions: 3, defaultAttribution: 'test' });
    rt.catalog.reload();
    server = await startServer(rt, '127.0.0.1', 0);
  });
  afterAll(async () => {
    await server.stop();
    rt.close();
    removeDir(dir);
  });

  it('logs each request as JSON with method, URL, status, time and the id it echoes in X-Request-Id', async () => {
    const res = await fetch(`${server.url}/catalog?x=1`);
    const id = res.headers.get('x-request-id') ?? '';
    expect(id).toMatch(/^[0-9a-f]{6}-[0-9a-z]+$/);
    const line = await logOf('/catalog?x=1');
    expect(line).toMatchObject({ level: 30, msg: 'request completed', req: { id, method: 'GET' }, res: { statusCode: 200 } });
    expect(typeof line.responseTime).toBe('number');
    const other = await fetch(`${server.url}/healthz`);
    expect(other.headers.get('x-request-id')).not.toBe(id);
  });

  it('logs tiles served by the fast path too, and client errors at warn', async () => {
    const tile = await fetch(`${server.url}/tiles/parcels/12/0/0.mvt`);
    expect(tile.status).toBe(204);
    expect(await logOf('/tiles/parcels/12/0/0.mvt')).toMatchObject({ level: 30, res: { statusCode: 204 }, req: { id: tile.headers.get('x-request-id') } });
    const bad = await fetch(`${server.url}/tiles/parcels/99/0/0.mvt`);
    expect(bad.status).toBe(400);
    expect(await logOf('/tiles/parcels/99/0/0.mvt')).toMatchObject({ level: 40, res: { statusCode: 400 } });
  });

  it('keeps a sane X-Request-Id from a proxy and replaces anything else', async () => {
    const kept = await fetch(`${server.url}/healthz?kept`, { headers: { 'x-request-id': 'edge-4f2a.17' } });
    expect(kept.headers.get('x-request-id')).toBe('edge-4f2a.17');
    expect((await logOf('/healthz?kept')).req?.id).toBe('edge-4f2a.17');
    const replaced = await fetch(`${server.url}/healthz?replaced`, { headers: { 'x-request-id': 'x'.repeat(200) } });
    expect(replaced.headers.get('x-request-id')).not.toContain('xxxx');
  });

  it('never writes the Authorization header (or any header) to the log', async () => {
    await fetch(`${server.url}/catalog?secret`, { headers: { authorization: 'Bearer s3cr3t-token-value', cookie: 'session=abc' } });
    await fetch(`${server.url}/admin/jobs`, { headers: { authorization: 'Bearer s3cr3t-token-value' } });
    await logOf('/catalog?secret');
    const text = raw.join('');
    expect(text).not.toContain('s3cr3t-token-value');
    expect(text).not.toContain('session=abc');
    expect(text).not.toMatch(/"headers"/);
  });
});
