import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importVersion } from '../../pipeline/mirror/import-version.js';
import { fetchCatalog } from '../../pipeline/mirror/upstream-catalog.js';
import { UpstreamClient } from '../../pipeline/mirror/upstream-client.js';
import { syncUpstream } from '../../pipeline/mirror/sync-upstream.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js';
import { adminConfig, bearer, startAdminNode, TOKENS } from '../helpers/admin-node.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, startParcelNode, stopNode, writeConfig, type TestNode } from '../helpers/test-node.js';

// A city that rolls back while a county copies: the county must never make the withdrawn version current.
describe('mirror: the upstream moves on while a version is copied', () => {
  let cityDir: string;
  let city: TestNode;
  let countyDir: string;
  let county: SqliteStore;

  beforeAll(async () => {
    let source: string;
    ({ dir: cityDir, source, node: city } = await startParcelNode());
    const fc = makeParcels();
    const p = fc.features[0]?.properties;
    if (p) p.TBMJ = 777;
    writeGeojson(source, fc);
    await city.publish('parcels');
    countyDir = makeTempDir('plantiles-county-');
    county = openSqliteStore(countyDir);
  });
  afterAll(async () => {
    county.close();
    removeDir(countyDir);
    await stopNode(city, cityDir);
  });

  it('does not switch to a version the upstream rolled back from during the copy, and then follows the rollback', async () => {
    const client = new UpstreamClient(city.url, { concurrency: 4 });
    const catalog = await fetchCatalog(client);
    const listed = catalog.layers.find((l) => l.id === 'parcels');
    const target = listed?.versions.find((v) => v.version === '1.1.0');
    expect(listed?.version).toBe('1.1.0');
    if (!listed || !target) throw new Error('the city lists no parcels 1.1.0');
    // The copy "starts" from this catalog; the city withdraws 1.1.0 before it ends.
    city.rt.store.rollback('parcels', '1.0.0');
    city.rt.feed.poll(true);
    const job = { upstreamLayer: 'parcels', localLayer: 'parcels', origin: catalog.node.id, target, base: null, title: listed.title, attribution: '', style: { color: '#3a7d44', fillOpacity: 0.45, lineWidth: 1 } };
    await expect(importVersion({ client, store: county, concurrency: 4 }, job)).rejects.toThrow(/parcels@1\.1\.0: the upstream's current version became 1\.0\.0 while this one was copied: not switching to it/);
    expect(county.getLayer('parcels')).toBeNull();
    // The next pass goes by the upstream's current pointer: 1.0.0, never 1.1.0.
    const pass = await syncUpstream({ client, store: county, concurrency: 4, keepVersions: 5, nodeId: 'county', prefix: '', patterns: ['*'] });
    expect(pass.outcomes).toEqual([expect.objectContaining({ state: 'imported', layer: 'parcels', version: '1.0.0' })]);
    const layer = county.getLayer('parcels');
    expect(layer?.versions.map((v) => v.version)).toEqual(['1.0.0']);
  });

  it('refuses an admin publish or upload of the mirrored layer with 409 naming its origin', async () => {
    const dir = makeTempDir();
    const node = await startAdminNode(writeConfig(dir, adminConfig({ storage: { dir: countyDir }, layers: [] })));
    try {
      const publish = await fetch(`${node.url}/admin/layers/parcels/publish`, { method: 'POST', headers: bearer(TOKENS.city) });
      expect(publish.status).toBe(409);
      expect(await publish.json()).toMatchObject({ error: 'layer "parcels" is mirrored from node "testnode" and is read-only here; publish it on "testnode"' });
      const upload = await fetch(`${node.url}/admin/layers/parcels/source`, { method: 'PUT', headers: { ...bearer(TOKENS.city), 'content-type': 'application/geo+json' }, body: JSON.stringify(makeParcels(1, 1)) });
      expect(upload.status).toBe(409);
      expect(await upload.json()).toMatchObject({ error: expect.stringMatching(/mirrored from node "testnode"/) });
      expect((await fetch(`${node.url}/admin/layers/nosuch/publish`, { method: 'POST', headers: bearer(TOKENS.city) })).status).toBe(404);
    } finally {
      await node.stop();
      removeDir(dir);
    }
  });
});
