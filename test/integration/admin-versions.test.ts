import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { buildOpenApi } from '../../src/server/openapi.js';
import type { AuditEntry } from '../../src/store/sqlite-audit.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { collectSse } from '../helpers/sse.js';
import { adminConfig, bearer, publishViaApi, startAdminNode, TOKEN_ENV, TOKENS, type AdminNode } from '../helpers/admin-node.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

const CLI = 'dist/src/cli/main.js';

describe('versions through the admin API: rollback, retention, audit', () => {
  let dir: string;
  let node: AdminNode;
  const logLines: string[] = [];
  const t = tileForLonLat(115.955, 36.435, 13);

  const rollback = (body: unknown, headers: Record<string, string> = bearer(TOKENS.city), layer = 'parcels'): Promise<Response> =>
    fetch(`${node.url}/admin/layers/${layer}/rollback`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const tileOf = async (spec: string): Promise<Response> => fetch(`${node.url}/tiles/${spec}/13/${t.x}/${t.y}.mvt`, { headers: { 'accept-encoding': 'identity' } });
  const audit = async (): Promise<AuditEntry[]> => ((await (await fetch(`${node.url}/admin/audit`, { headers: bearer(TOKENS.city) })).json()) as { entries: AuditEntry[] }).entries;

  beforeAll(async () => {
    dir = makeTempDir();
    const source = path.join(dir, 'parcels.geojson');
    writeGeojson(source, makeParcels());
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { logLines.push(chunk.toString()); done(); } });
    node = await startAdminNode(writeConfig(dir, adminConfig()), TOKEN_ENV, pino({ level: 'debug' }, sink));
    // Five versions; keepVersions is 3, so 1.0.0 and 1.1.0 are pruned.
    const fc = makeParcels();
    for (let i = 0; i < 5; i++) {
      const p = fc.features[i]?.properties;
      if (p) p.TBMJ = 9000 + i;
      writeGeojson(source, fc);
      expect(await publishViaApi(node.url, 'parcels')).toMatchObject({ state: 'succeeded', version: `1.${i}.0` });
    }
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  it('keeps storage.keepVersions versions, answers 410 for pruned ones, and shows them as pruned', async () => {
    expect((await tileOf('parcels@1.0.0')).status).toBe(410);
    expect((await tileOf('parcels@1.1.0')).status).toBe(410);
    expect((await tileOf('parcels@1.2.0')).status).toBe(200);
    const layers = ((await (await fetch(`${node.url}/admin/layers`, { headers: bearer(TOKENS.city) })).json()) as { layers: { current: string; versions: { version: string; state: string }[] }[] }).layers;
    expect(layers[0]?.current).toBe('1.4.0');
    expect(layers[0]?.versions.map((v) => `${v.version}:${v.state}`)).toEqual(['1.4.0:live', '1.3.0:live', '1.2.0:live', '1.1.0:pruned', '1.0.0:pruned']);
  });

  it('rolls back to a live version: 200 {layer, version, previous}, an event, the old bytes served as current', async () => {
    const seq = ((await (await fetch(`${node.url}/changes`)).json()) as { last: number }).last;
    const oldBytes = Buffer.from(await (await tileOf('parcels@1.2.0')).arrayBuffer());
    const res = await rollback({ version: '1.2.0' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ layer: 'parcels', version: '1.2.0', previous: '1.4.0' });
    const events = await collectSse(`${node.url}/events`, 1, { lastEventId: String(seq) });
    expect(JSON.parse(events[0]?.data ?? '{}')).toMatchObject({ layer: 'parcels', version: '1.2.0', previous: '1.4.0', kind: 'rollback' });
    const current = await tileOf('parcels');
    expect(current.headers.get('x-tile-version')).toBe('1.2.0');
    expect(Buffer.from(await current.arrayBuffer()).equals(oldBytes)).toBe(true);
  });

  it('refuses a pruned version (410), an unknown one (404), a malformed body (400), an unknown layer (404)', async () => {
    expect((await rollback({ version: '1.0.0' })).status).toBe(410);
    expect((await rollback({ version: '7.0.0' })).status).toBe(404);
    expect((await rollback({ version: 'latest' })).status).toBe(400);
    const truncated = await rollback('{"version":');
    expect(truncated.status).toBe(400);
    expect(await truncated.json()).toMatchObject({ error: 'the body is not valid JSON' });
    expect(truncated.headers.get('cache-control')).toBe('no-store');
    const notGzip = await fetch(`${node.url}/admin/layers/parcels/rollback`, {
      method: 'POST', headers: { ...bearer(TOKENS.city), 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: '{"version":"1.2.0"}',
    });
    expect(notGzip.status).toBe(400);
    expect(await notGzip.json()).toMatchObject({ error: 'the body does not decompress as its Content-Encoding says', detail: 'incorrect header check' });
    const nullBody = await rollback('null');
    expect(nullBody.status).toBe(400);
    expect(await nullBody.json()).toMatchObject({ error: expect.stringMatching(/^the body must be JSON \{"version"/) });
    expect((await rollback({})).status).toBe(400);
    expect((await rollback({ version: '1.0.0' }, bearer(TOKENS.city), 'nosuch')).status).toBe(404);
    expect((await tileOf('parcels')).headers.get('x-tile-version')).toBe('1.2.0');
  });

  it('audits every admin action: who, what, when, result — refusals too', async () => {
    await fetch(`${node.url}/admin/layers/parcels/publish`, { method: 'POST' });
    await fetch(`${node.url}/admin/layers/parcels/publish`, { method: 'POST', headers: bearer(TOKENS.gaotang) });
    const entries = await audit();
    const publishes = entries.filter((e) => e.action === 'publish' && e.actor === 'city');
    expect(publishes).toHaveLength(5);
    expect(publishes[0]).toMatchObject({ layer: 'parcels', status: 202, result: expect.stringMatching(/^queued job \d+$/) });
    const rollbacks = entries.filter((e) => e.action === 'rollback');
    expect(rollbacks.map((e) => e.status)).toEqual([404, 400, 400, 400, 400, 400, 404, 410, 200]);
    expect(rollbacks.at(-1)).toMatchObject({ actor: 'city', layer: 'parcels', result: 'current version is now 1.2.0 (was 1.4.0)' });
    expect(rollbacks[7]?.result).toMatch(/^refused: .*removed by retention/);
    // Refusals name the layer they were about, and in the words the client was answered with.
    expect(rollbacks.map((e) => e.layer)).toEqual(['nosuch', ...Array<string>(8).fill('parcels')]);
    expect(rollbacks[3]?.result).toBe('refused: the body does not decompress as its Content-Encoding says');
    expect(rollbacks[4]?.result).toBe('refused: the body is not valid JSON');
    const ofParcels = ((await (await fetch(`${node.url}/admin/audit?layer=parcels`, { headers: bearer(TOKENS.city) })).json()) as { entries: AuditEntry[] }).entries;
    expect(ofParcels.filter((e) => e.action === 'rollback').map((e) => e.status)).toEqual([400, 400, 400, 400, 400, 404, 410, 200]);
    expect(entries[1]).toMatchObject({ actor: 'anonymous', action: 'publish', status: 401 });
    expect(entries[0]).toMatchObject({ actor: 'gaotang', action: 'publish', status: 403 });
    for (const e of entries) expect(Date.parse(e.at)).not.toBeNaN();
    // A county token reads only entries of its own layers.
    const county = ((await (await fetch(`${node.url}/admin/audit`, { headers: bearer(TOKENS.gaotang) })).json()) as { entries: AuditEntry[] }).entries;
    expect(county).toEqual([]);
  });

  it.skipIf(!existsSync(CLI))('audits a rollback made with the CLI on the same data dir', async () => {
    const r = spawnSync(process.execPath, [CLI, 'rollback', 'parcels', '1.3.0'], { encoding: 'utf8', env: { ...process.env, PLANTILES_CONFIG: path.join(dir, 'plantiles.yaml') } });
    expect(r.status, r.stderr).toBe(0);
    expect((await audit())[0]).toMatchObject({ actor: 'cli', action: 'rollback', layer: 'parcels', result: 'current version is now 1.3.0 (was 1.2.0)' });
  });

  it('changes nothing on a rollback to the current version: 200, no event, no sequence number', async () => {
    expect((await rollback({ version: '1.3.0' })).status).toBe(200);
    const before = ((await (await fetch(`${node.url}/changes`)).json()) as { last: number }).last;
    const res = await rollback({ version: '1.3.0' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ layer: 'parcels', version: '1.3.0', previous: '1.3.0' });
    expect(await (await fetch(`${node.url}/changes?since=${before}`)).json()).toEqual({ events: [], last: before });
    expect((await audit())[0]).toMatchObject({ action: 'rollback', status: 200, result: 'version 1.3.0 is already current' });
  });

  it('keeps the versions that were current most recently: a rolled-back-to version outlives newer ones', async () => {
    // Current since the last test: 1.3.0. Back to 1.2.0, then a new publish: of the four live versions,
    // 1.4.0 was current longest ago, so it is the one retention (3) removes, not 1.2.0.
    expect((await rollback({ version: '1.2.0' })).status).toBe(200);
    const fc = makeParcels();
    const p = fc.features[7]?.properties;
    if (p) p.TBMJ = 4242;
    writeGeojson(path.join(dir, 'parcels.geojson'), fc);
    expect(await publishViaApi(node.url, 'parcels')).toMatchObject({ state: 'succeeded', version: '1.5.0' });
    const layers = ((await (await fetch(`${node.url}/admin/layers`, { headers: bearer(TOKENS.city) })).json()) as { layers: { versions: { version: string; state: string }[] }[] }).layers;
    expect(layers[0]?.versions.filter((v) => v.state === 'live').map((v) => v.version).sort()).toEqual(['1.2.0', '1.3.0', '1.5.0']);
    expect((await tileOf('parcels@1.4.0')).status).toBe(410);
    expect((await fetch(`${node.url}/tiles/parcels@1.5.0/diff/1.2.0`)).status).toBe(200);
  });

  it('never writes a secret to the audit log or the server log', async () => {
    await fetch(`${node.url}/admin/jobs`, { headers: bearer('wrong-secret-that-is-long-enough') });
    const everything = JSON.stringify(await audit()) + logLines.join('');
    expect(logLines.length).toBeGreaterThan(5);
    for (const secret of [TOKENS.city, TOKENS.gaotang, 'wrong-secret-that-is-long-enough']) expect(everything).not.toContain(secret);
  });

  it('refuses with statuses the OpenAPI document lists: an oversized or mis-encoded rollback body, a malformed ?layer= on /admin/events', async () => {
    const doc = buildOpenApi('http://example.test', 'test', '0.0.0') as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const listed = (p: string, method: string): string[] => Object.keys(doc.paths[p]?.[method]?.responses ?? {});
    const post = (headers: Record<string, string>, body: string): Promise<Response> =>
      fetch(`${node.url}/admin/layers/parcels/rollback`, { method: 'POST', headers: { ...bearer(TOKENS.city), ...headers }, body });
    const oversized = await post({ 'content-type': 'application/json' }, JSON.stringify({ version: '1.2.0', pad: 'x'.repeat(20_000) }));
    const charset = await post({ 'content-type': 'application/json; charset=foo' }, '{"version":"1.2.0"}');
    for (const res of [oversized, charset]) expect(listed('/admin/layers/{layer}/rollback', 'post')).toContain(String(res.status));
    expect([oversized.status, charset.status]).toEqual([413, 415]);
    const events = await fetch(`${node.url}/admin/events?layer=../x`, { headers: bearer(TOKENS.city) });
    expect(events.status).toBe(400);
    expect(listed('/admin/events', 'get')).toContain('400');
  });
});
