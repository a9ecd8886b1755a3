import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/jobs/jobs.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { adminConfig, bearer, publishViaApi, startAdminNode, TOKENS, waitForJob, type AdminNode } from '../helpers/admin-node.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

/** One admin route as the auth table exercises it; `layer` is the layer the request concerns. */
interface RouteCase {
  name: string;
  method: string;
  path: (ctx: { jobId: number }) => string;
  body?: () => { body: string; type: string };
  /** The success status with the right token. */
  ok: number;
}

const ROUTES: RouteCase[] = [
  { name: 'GET /admin/layers', method: 'GET', path: () => '/admin/layers?layer=parcels', ok: 200 },
  { name: 'POST publish', method: 'POST', path: () => '/admin/layers/parcels/publish', ok: 202 },
  {
    name: 'PUT source', method: 'PUT', path: () => '/admin/layers/parcels/source', ok: 202,
    body: () => ({ body: JSON.stringify(makeParcels()), type: 'application/geo+json' }),
  },
  {
    name: 'POST rollback', method: 'POST', path: () => '/admin/layers/parcels/rollback', ok: 200,
    body: () => ({ body: JSON.stringify({ version: '1.0.0' }), type: 'application/json' }),
  },
  { name: 'GET /admin/jobs', method: 'GET', path: () => '/admin/jobs?layer=parcels', ok: 200 },
  { name: 'GET /admin/jobs/{id}', method: 'GET', path: ({ jobId }) => `/admin/jobs/${jobId}`, ok: 200 },
  { name: 'GET /admin/audit', method: 'GET', path: () => '/admin/audit?layer=parcels', ok: 200 },
  { name: 'GET /admin/events', method: 'GET', path: () => '/admin/events?layer=parcels', ok: 200 },
];

const CREDENTIALS: { who: string; headers: Record<string, string>; status: (ok: number) => number }[] = [
  { who: 'no token', headers: {}, status: () => 401 },
  { who: 'a wrong token', headers: bearer('not-the-secret-at-all-000000'), status: () => 401 },
  { who: 'a token of another scope', headers: bearer(TOKENS.gaotang), status: () => 403 },
  { who: 'the right token', headers: bearer(TOKENS.city), status: (ok) => ok },
];

describe('admin API authorisation', () => {
  let dir: string;
  let node: AdminNode;
  let jobId: number;

  beforeAll(async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    node = await startAdminNode(writeConfig(dir, adminConfig()));
    const first = await publishViaApi(node.url, 'parcels');
    expect(first).toMatchObject({ state: 'succeeded', version: '1.0.0' });
    jobId = first.id;
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  const send = async (route: RouteCase, headers: Record<string, string>): Promise<Response> => {
    const controller = new AbortController();
    const extra = route.body?.();
    const res = await fetch(`${node.url}${route.path({ jobId })}`, {
      method: route.method, signal: controller.signal,
      headers: { ...headers, ...(extra ? { 'content-type': extra.type } : {}) },
      body: extra?.body,
    });
    // The event stream stays open: the status is all this table needs.
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) controller.abort();
    else await res.arrayBuffer();
    return res;
  };

  for (const route of ROUTES) {
    it(`${route.name}: none/wrong/other scope/right → 401/401/403/${route.ok}`, async () => {
      const statuses: number[] = [];
      for (const c of CREDENTIALS) {
        const res = await send(route, c.headers);
        statuses.push(res.status);
        // No answer of the API, a refusal included, may be kept by a cache.
        expect(res.headers.get('cache-control'), `${route.name} with ${c.who}`).toBe('no-store');
      }
      expect(statuses).toEqual(CREDENTIALS.map((c) => c.status(route.ok)));
      // Let a job the right token queued finish before the next route runs.
      for (const job of node.rt.jobs.list()) if (job.state === 'queued' || job.state === 'running') await waitForJob(node.url, job.id);
    });
  }

  it('401 carries a Bearer challenge and an {error, detail} body; the admin page itself is public', async () => {
    const res = await fetch(`${node.url}/admin/jobs`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await res.json()).toMatchObject({ error: expect.stringMatching(/token/) });
    const page = await fetch(`${node.url}/admin`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/管理.*Admin/);
    const script = await fetch(`${node.url}/admin/admin.js`);
    expect(script.status).toBe(200);
  });

  it('answers 400 for a malformed layer id or job id, 404 for an unknown layer or job', async () => {
    const city = bearer(TOKENS.city);
    expect((await fetch(`${node.url}/admin/layers/bad%20id!/publish`, { method: 'POST', headers: city })).status).toBe(400);
    expect((await fetch(`${node.url}/admin/layers/nosuch/publish`, { method: 'POST', headers: city })).status).toBe(404);
    expect((await fetch(`${node.url}/admin/jobs/abc`, { headers: city })).status).toBe(400);
    expect((await fetch(`${node.url}/admin/jobs/99999`, { headers: city })).status).toBe(404);
    expect((await fetch(`${node.url}/admin/jobs?layer=..%2Fetc`, { headers: city })).status).toBe(400);
  });

  it('a scoped token sees only its layers in listings', async () => {
    const city = (await (await fetch(`${node.url}/admin/jobs`, { headers: bearer(TOKENS.city) })).json()) as { jobs: Job[] };
    expect(city.jobs.length).toBeGreaterThan(0);
    const county = (await (await fetch(`${node.url}/admin/jobs`, { headers: bearer(TOKENS.gaotang) })).json()) as { jobs: Job[] };
    expect(county.jobs).toEqual([]);
    const layers = (await (await fetch(`${node.url}/admin/layers`, { headers: bearer(TOKENS.gaotang) })).json()) as { layers: unknown[] };
    expect(layers.layers).toEqual([]);
  });
});

describe('admin API with no usable token', () => {
  it('answers 401 on every admin route when the tokens\' variables are unset', async () => {
    const dir = makeTempDir();
    try {
      writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
      const node = await startAdminNode(writeConfig(dir, adminConfig()), {});
      try {
        expect(node.rt.auth.enabled).toBe(false);
        expect(node.rt.auth.disabled.map((d) => d.env)).toEqual(['CITY_TOKEN', 'GAOTANG_TOKEN']);
        for (const route of ROUTES) {
          const res = await fetch(`${node.url}${route.path({ jobId: 1 })}`, { method: route.method, headers: bearer(TOKENS.city) });
          expect(res.status, route.name).toBe(401);
          await res.arrayBuffer();
        }
      } finally {
        await node.stop();
      }
    } finally {
      removeDir(dir);
    }
  });
});
