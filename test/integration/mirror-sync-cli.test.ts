import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ClusterNode, rawTile, runCli, tileHashes } from '../helpers/cluster.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

// `plantiles sync`: one pass against an upstream into a data dir, then exit with 0, 1 or 2.
describe('plantiles sync (one pass)', () => {
  let dir: string;
  let city: ClusterNode;
  let config: string;

  beforeAll(async () => {
    dir = makeTempDir('plantiles-sync-cli-');
    writeGeojson(path.join(dir, 'a.geojson'), makeParcels(6, 4));
    writeGeojson(path.join(dir, 'b.geojson'), makeParcels(3, 3));
    const layer = (id: string): Record<string, unknown> => ({ id, source: `../${id}.geojson`, idField: 'BSM', minzoom: 8, maxzoom: 11 });
    city = await ClusterNode.start(path.join(dir, 'city'), { node: { id: 'city', title: 'city' }, layers: [layer('a'), layer('b')] });
    await city.publish('a');
    await city.publish('b');
    config = path.join(dir, 'county.yaml');
    writeFileSync(config, stringify({ node: { id: 'county', title: 'county' }, storage: { dir: './county-store' } }));
  });
  afterAll(async () => {
    await city?.stop();
    removeDir(dir);
  });

  it('copies the chosen layers under a prefix, then finds them up to date', async () => {
    const first = await runCli(['--config', config, 'sync', '--upstream', city.url, '--layers', 'a', '--prefix', 'city-', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ event: 'layer', state: 'imported', layer: 'city-a', version: '1.0.0', whole: true });
    expect(lines[1]).toMatchObject({ event: 'result', node: 'city', layers: 1 });
    expect(Number(lines[1]?.bytesReceived)).toBeGreaterThan(Number(lines[0]?.fetchedBytes));

    const versions = await runCli(['--config', config, 'versions', 'city-a', '--json']);
    expect(JSON.parse(versions.stdout.trim().split('\n')[0] ?? '{}')).toMatchObject({ layer: 'city-a', version: '1.0.0', current: true });
    expect((await runCli(['--config', config, 'versions', 'city-b'])).code).toBe(1);

    const again = await runCli(['--config', config, 'sync', '--upstream', city.url, '--layers', 'a', '--prefix', 'city-']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/city-a: up to date at 1\.0\.0/);
  });

  it('serves what it synced, byte for byte, once a server runs on the data dir', async () => {
    const county = await ClusterNode.start(path.join(dir, 'county-serve'), { node: { id: 'county', title: 'county' }, storage: { dir: '../county-store' } });
    try {
      expect(await tileHashes(county.url, 'city-a', '1.0.0')).toEqual(await tileHashes(city.url, 'a', '1.0.0'));
    } finally {
      await county.stop();
    }
  });

  it('exits 1 with one line when the upstream is unreachable, 2 on bad usage', async () => {
    const down = await runCli(['--config', config, 'sync', '--upstream', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toMatch(/sync failed: http:\/\/127\.0\.0\.1:9: GET \/catalog: .*ECONNREFUSED/);
    expect((await runCli(['--config', config, 'sync', '--upstream', 'not a url'])).code).toBe(2);
    expect((await runCli(['--config', config, 'sync'])).code).toBe(2);
    // With --json, the failure is a JSON line too.
    const json = await runCli(['--config', config, 'sync', '--upstream', 'http://127.0.0.1:9', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ event: 'result', upstream: 'http://127.0.0.1:9', state: 'failed', error: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('fails a layer asked for by name that the upstream does not have (a typo is not "in step")', async () => {
    const r = await runCli(['--config', config, 'sync', '--upstream', city.url, '--layers', 'a', 'nosuch', '--prefix', 'city-']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/city-a: up to date at 1\.0\.0/);
    expect(r.stderr).toMatch(/sync failed: .*: no layer "nosuch" upstream \(it has: a, b\)/);
    // A pattern with * that matches nothing is not an error.
    expect((await runCli(['--config', config, 'sync', '--upstream', city.url, '--layers', 'zz-*'])).code).toBe(0);
  });

  it('names the field of an upstream catalog it cannot use', async () => {
    const fake = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ node: { id: 'odd', title: 'odd' }, layers: [{ id: 'a' }] }));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const r = await runCli(['--config', config, 'sync', '--upstream', `http://127.0.0.1:${(fake.address() as AddressInfo).port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/\/catalog: layers\[0\]\.\w+: /);
    } finally {
      fake.close();
    }
  });

  it('syncs every configured mirror, past one that is down, then exits 1 naming it', async () => {
    const both = path.join(dir, 'both.yaml');
    writeFileSync(both, stringify({
      node: { id: 'county2', title: 'county2' }, storage: { dir: './both-store' },
      mirrors: [{ upstream: 'http://127.0.0.1:9', layers: ['*'] }, { upstream: city.url, layers: ['b'] }],
    }));
    const r = await runCli(['--config', both, 'sync']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^b: 1\.0\.0 \(was none\)/m);
    const errors = r.stderr.trim().split('\n');
    expect(errors[0]).toMatch(/^plantiles: sync of http:\/\/127\.0\.0\.1:9 failed: .*ECONNREFUSED/);
    expect(errors.at(-1)).toMatch(/^plantiles: sync failed: http:\/\/127\.0\.0\.1:9: GET \/catalog/);
  });

  it('refuses a layer of the same id and tag published on this node, fetching nothing for it', async () => {
    const local = path.join(dir, 'local.yaml');
    writeFileSync(local, stringify({
      node: { id: 'county3', title: 'county3' }, storage: { dir: './local-store' },
      layers: [{ id: 'a', source: 'b.geojson', idField: 'BSM', minzoom: 8, maxzoom: 11 }],
    }));
    expect((await runCli(['--config', local, 'publish', 'a'])).code).toBe(0);
    const r = await runCli(['--config', local, 'sync', '--upstream', city.url, '--layers', 'a']);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/up to date/);
    expect(r.stderr).toMatch(/layer "a" is published on this node; a mirror of node "city" cannot replace it/);
    const db = new Database(path.join(dir, 'local-store', 'plantiles.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM staged_blobs').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });

  it('copies the upstream\'s exact gzip bodies through a proxy that decodes them', async () => {
    // Tiles large enough that gzip levels give different bytes; then a proxy that asks the
    // upstream for tiles without gzip, so the mirror receives them decoded.
    writeGeojson(path.join(dir, 'a.geojson'), makeParcels(40, 30));
    await city.publish('a');
    const { proxy, via } = await startProxy(city.url, 'decode');
    try {
      const proxied = path.join(dir, 'proxied.yaml');
      writeFileSync(proxied, stringify({ node: { id: 'county4', title: 'county4' }, storage: { dir: './proxied-store' } }));
      const r = await runCli(['--config', proxied, 'sync', '--upstream', via, '--layers', 'a']);
      expect(r.code, r.stderr).toBe(0);
      const db = new Database(path.join(dir, 'proxied-store', 'plantiles.sqlite'), { readonly: true });
      try {
        const mine = db.prepare("SELECT version, bytes FROM versions WHERE layer = 'a'").get() as { version: string; bytes: number };
        const catalog = (await (await fetch(`${city.url}/catalog`)).json()) as { layers: { id: string; versions: { version: string; bytes: number }[] }[] };
        expect(catalog.layers.find((l) => l.id === 'a')?.versions.find((v) => v.version === mine.version)?.bytes).toBe(mine.bytes);
        expect(mine.version).toBe('1.1.0');
      } finally {
        db.close();
      }
    } finally {
      proxy.close();
    }
  });

  it('drops what it fetched through a proxy that recompresses tiles, says so, and copies them afresh without it', async () => {
    const { proxy, via } = await startProxy(city.url, 'recompress');
    const config5 = path.join(dir, 'recompressed.yaml');
    writeFileSync(config5, stringify({ node: { id: 'county5', title: 'county5' }, storage: { dir: './recompressed-store' } }));
    try {
      const r = await runCli(['--config', config5, 'sync', '--upstream', via, '--layers', 'a']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the tiles match their hashes but their gzip bodies differ from the upstream's: a proxy between the nodes may decompress or recompress tiles/);
    } finally {
      proxy.close();
    }
    const direct = await runCli(['--config', config5, 'sync', '--upstream', city.url, '--layers', 'a']);
    expect(direct.code, direct.stderr).toBe(0);
    const county = await ClusterNode.start(path.join(dir, 'county5-serve'), { node: { id: 'county5', title: 'county5' }, storage: { dir: '../recompressed-store' } });
    try {
      const hashes = await tileHashes(city.url, 'a', '1.1.0');
      expect(await tileHashes(county.url, 'a', '1.1.0')).toEqual(hashes);
      for (const zxy of [...hashes.keys()].slice(0, 5)) {
        const mine = await rawTile(county.url, 'a', '1.1.0', zxy);
        expect(mine.body.equals((await rawTile(city.url, 'a', '1.1.0', zxy)).body), zxy).toBe(true);
      }
    } finally {
      await county.stop();
    }
  });
});

/** A proxy to `upstream` that hands tiles on decoded (asking the upstream for no gzip), or gzipped again at another level. */
async function startProxy(upstream: string, mode: 'decode' | 'recompress'): Promise<{ proxy: http.Server; via: string }> {
  const proxy = http.createServer((req, res) => {
    const headers = { ...req.headers, host: new URL(upstream).host };
    const tile = req.url?.endsWith('.mvt') === true;
    if (tile && mode === 'decode') delete headers['accept-encoding'];
    const out = http.request(upstream + (req.url ?? '/'), { method: req.method, headers }, (up) => {
      if (!(tile && mode === 'recompress' && up.headers['content-encoding'] === 'gzip')) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        const body = gzipSync(gunzipSync(Buffer.concat(chunks)), { level: 9 });
        res.writeHead(up.statusCode ?? 502, { ...up.headers, 'content-length': String(body.length) });
        res.end(body);
      });
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return { proxy, via: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };
}
