import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import type { Job } from '../../src/jobs/jobs.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { decodeTile } from '../helpers/mvt.js';
import { adminConfig, bearer, publishViaApi, startAdminNode, TOKENS, waitForJob, type AdminNode } from '../helpers/admin-node.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

const LIMIT = 4 * 1024 * 1024;
const hasOgr2ogr = spawnSync('ogr2ogr', ['--version']).error === undefined;

interface ZipEntry { name: string; data: Buffer; mode?: number; compress?: boolean }

/** Builds a zip with yazl; `rename` rewrites entry names afterwards (yazl itself refuses hostile names). */
function makeZip(entries: ZipEntry[], rename: [string, string][] = []): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(e.data, e.name, { mode: e.mode, compress: e.compress ?? true });
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      const buf = Buffer.concat(chunks);
      for (const [from, to] of rename) {
        if (from.length !== to.length) throw new Error('renames keep the length');
        let at = buf.indexOf(from);
        while (at >= 0) {
          buf.write(to, at, 'latin1');
          at = buf.indexOf(from, at + 1);
        }
      }
      resolve(buf);
    }).on('error', reject);
  });
}

/** Every file under dir, relative, with "/" separators. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    return d.isDirectory() ? walk(full, base) : [path.relative(base, full).split(path.sep).join('/')];
  });
}

/** PUT with a chunked body (no Content-Length) of `total` bytes; resolves with the status once it arrives. */
function putChunked(url: string, total: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { ...bearer(TOKENS.city), 'content-type': 'application/geo+json', 'transfer-encoding': 'chunked' } });
    let answered = false;
    req.on('response', (res) => { answered = true; res.resume(); resolve(res.statusCode ?? 0); });
    // Once the server refused and closed, the rest of the body cannot be written: expected.
    req.on('error', (err) => { if (!answered) reject(err); });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (sent < total && !answered) {
        sent += chunk.length;
        if (!req.write(chunk)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
}

describe('uploading a layer source', () => {
  let dir: string;
  let fixtures: string;
  let node: AdminNode;
  const t = tileForLonLat(115.955, 36.435, 13);

  const upload = async (body: Buffer | string, type: string, name?: string): Promise<Response> =>
    fetch(`${node.url}/admin/layers/parcels/source`, {
      method: 'PUT', body: typeof body === 'string' ? body : new Uint8Array(body),
      headers: { ...bearer(TOKENS.city), 'content-type': type, ...(name ? { 'x-file-name': encodeURIComponent(name) } : {}) },
    });
  const uploadJob = async (body: Buffer | string, type: string, name?: string): Promise<Job> => {
    const res = await upload(body, type, name);
    expect(res.status, await res.clone().text()).toBe(202);
    expect(res.headers.get('location')).toMatch(/^\/admin\/jobs\/\d+$/);
    return waitForJob(node.url, ((await res.json()) as Job).id);
  };
  const currentTile = async (): Promise<{ version: string | null; bytes: Buffer }> => {
    const res = await fetch(`${node.url}/tiles/parcels/13/${t.x}/${t.y}.mvt`, { headers: { 'accept-encoding': 'identity' } });
    return { version: res.headers.get('x-tile-version'), bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const layerInfo = async (): Promise<{ source: string; current: string; revisions: { id: number; state: string; name: string | null }[] }> => {
    const res = await fetch(`${node.url}/admin/layers?layer=parcels`, { headers: bearer(TOKENS.city) });
    return ((await res.json()) as { layers: { source: string; current: string; revisions: { id: number; state: string; name: string | null }[] }[] }).layers[0] as never;
  };

  beforeAll(async () => {
    dir = makeTempDir();
    fixtures = makeTempDir('plantiles-fixtures-');
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    node = await startAdminNode(writeConfig(dir, adminConfig({ admin: { ...adminConfig().admin as object, maxUploadBytes: LIMIT } })));
    expect(await publishViaApi(node.url, 'parcels')).toMatchObject({ state: 'succeeded', version: '1.0.0' });
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
    removeDir(fixtures);
  });

  it('publishes an uploaded GeoJSON as a new version, kept as a source revision beside the previous ones', async () => {
    const fc = makeParcels();
    const p = fc.features[0]?.properties;
    if (p) p.DLMC = '水田（上传）';
    const job = await uploadJob(JSON.stringify(fc), 'application/geo+json', '耕地 2024.geojson');
    expect(job).toMatchObject({ kind: 'upload', state: 'succeeded', version: '1.1.0', progress: 1, error: null });
    const rev = job.revision as number;
    expect(existsSync(path.join(dir, 'store', 'sources', 'parcels', `r${rev}`, `parcels-r${rev}.geojson`))).toBe(true);
    const tile = await currentTile();
    expect(tile.version).toBe('1.1.0');
    const names = decodeTile(tile.bytes).parcels?.features.map((f) => f.properties.DLMC);
    expect(names).toContain('水田（上传）');
    // A second upload supersedes the first; both stay on disk.
    if (p) p.DLMC = '水田（再上传）';
    const second = await uploadJob(JSON.stringify(fc), 'application/json');
    expect(second).toMatchObject({ state: 'succeeded', version: '1.2.0' });
    const info = await layerInfo();
    expect(info.source).toBe(`upload r${second.revision}`);
    expect(info.revisions.map((r) => [r.id, r.state])).toEqual([[second.revision, 'active'], [rev, 'superseded']]);
    expect(info.revisions[1]?.name).toBe('耕地 2024.geojson');
    expect(existsSync(path.join(dir, 'store', 'sources', 'parcels', `r${rev}`, `parcels-r${rev}.geojson`))).toBe(true);
    // The layer's source is now the upload: a plain publish republishes it (unchanged), not the configured file.
    expect(await publishViaApi(node.url, 'parcels')).toMatchObject({ state: 'unchanged', version: '1.2.0' });
    // So does the CLI on the same data dir, in a process of its own.
    const cli = spawnSync(process.execPath, ['dist/src/cli/main.js', 'publish', 'parcels', '--config', path.join(dir, 'plantiles.yaml')], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`parcels: reading the uploaded source \\(revision r${second.revision}\\)`));
    expect(cli.stdout).toMatch(/parcels: unchanged \(version 1\.2\.0/);
  });

  it.skipIf(!hasOgr2ogr)('publishes a zipped Shapefile (written by GDAL, GBK attributes)', async () => {
    const fc = makeParcels();
    const p = fc.features[1]?.properties;
    if (p) p.DLMC = '旱地（Shapefile）';
    writeGeojson(path.join(fixtures, 'in.geojson'), fc);
    execFileSync('ogr2ogr', ['-f', 'ESRI Shapefile', path.join(fixtures, '地块.shp'), path.join(fixtures, 'in.geojson'), '-lco', 'ENCODING=GBK']);
    const parts = ['.shp', '.shx', '.dbf', '.prj', '.cpg'].filter((ext) => existsSync(path.join(fixtures, `地块${ext}`)));
    const zip = await makeZip(parts.map((ext) => ({ name: `upload/地块${ext}`, data: readFileSync(path.join(fixtures, `地块${ext}`)) })));
    const job = await uploadJob(zip, 'application/zip', 'parcels.zip');
    expect(job.error).toBeNull();
    expect(job).toMatchObject({ state: 'succeeded', version: '1.3.0' });
    const names = decodeTile((await currentTile()).bytes).parcels?.features.map((f) => f.properties.DLMC);
    expect(names).toContain('旱地（Shapefile）');
  });

  it('answers 415 for another content type and 413 over the limit, announced or streamed, keeping nothing', async () => {
    const before = walk(path.join(dir, 'store', 'sources'));
    const res415 = await upload('a,b\n1,2\n', 'text/csv');
    expect(res415.status).toBe(415);
    expect(((await res415.json()) as { error: string }).error).toMatch(/GeoJSON|zip/);
    const gzipped = await fetch(`${node.url}/admin/layers/parcels/source`, {
      method: 'PUT', body: new Uint8Array(gzipSync(JSON.stringify(makeParcels()))), headers: { ...bearer(TOKENS.city), 'content-type': 'application/geo+json', 'content-encoding': 'gzip' },
    });
    expect(gzipped.status).toBe(415);
    expect(await gzipped.json()).toMatchObject({ error: expect.stringMatching(/uncompressed/), detail: { contentEncoding: 'gzip' } });
    const res413 = await upload(Buffer.alloc(LIMIT + 1, 0x20), 'application/geo+json');
    expect(res413.status).toBe(413);
    expect(await putChunked(`${node.url}/admin/layers/parcels/source`, LIMIT * 2)).toBe(413);
    expect(walk(path.join(dir, 'store', 'sources'))).toEqual(before);
    expect((await currentTile()).version).toBe((await layerInfo()).current);
  });

  it('rejects an upload the client cut off, keeping nothing, and audits it as closed by the client (499)', async () => {
    const before = walk(path.join(dir, 'store', 'sources'));
    const sent = 256 * 1024;
    await new Promise<void>((resolve) => {
      const req = http.request(`${node.url}/admin/layers/parcels/source`, {
        method: 'PUT', headers: { ...bearer(TOKENS.city), 'content-type': 'application/geo+json', 'content-length': String(LIMIT) },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(sent, 0x20), () => setTimeout(() => { req.destroy(); resolve(); }, 300));
    });
    type Entry = { action: string; status: number; result: string; layer: string | null };
    let cut: Entry | undefined;
    for (let i = 0; i < 100 && !cut; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const { entries } = (await (await fetch(`${node.url}/admin/audit?layer=parcels&limit=5`, { headers: bearer(TOKENS.city) })).json()) as { entries: Entry[] };
      cut = entries.find((e) => e.status === 499);
    }
    expect(cut).toMatchObject({ action: 'upload', layer: 'parcels', result: expect.stringMatching(/^aborted: the client closed the connection before the answer/) });
    const rejected = (await layerInfo()).revisions[0] as unknown as { state: string; error: string };
    expect(rejected).toMatchObject({ state: 'rejected', error: `the upload was cut short by the client after ${sent} bytes` });
    expect(walk(path.join(dir, 'store', 'sources'))).toEqual(before);
  });

  it('fails the job of a malformed upload with one line naming the upload and the feature; nothing else changes', async () => {
    const info = await layerInfo();
    const before = await currentTile();
    const bad = { type: 'FeatureCollection', features: [...makeParcels().features.slice(0, 3), { type: 'Feature', properties: { BSM: 'x' }, geometry: { type: 'Polygon', coordinates: [[[116, 36.4], [116.01, 36.4], [116, 36.4]]] } }] };
    // Named as the client named it (X-File-Name), with its revision; without a name, by its revision.
    const job = await uploadJob(JSON.stringify(bad), 'application/geo+json', '耕地 更新.geojson');
    expect(job.state).toBe('failed');
    expect(job.error).toMatch(new RegExp(`^upload "耕地 更新\\.geojson" \\(r${job.revision}\\): feature BSM=x: `));
    expect(job.error).not.toContain('\n');
    const notJson = await uploadJob('{"type": "FeatureCollection", "features": [', 'application/geo+json');
    expect(notJson.error).toMatch(new RegExp(`^upload r${notJson.revision}: `));
    expect(notJson.error).not.toContain(`parcels-r${notJson.revision}`);
    const after = await currentTile();
    expect(after.version).toBe(before.version);
    expect(after.bytes.equals(before.bytes)).toBe(true);
    const now = await layerInfo();
    expect(now.source).toBe(info.source);
    expect(now.revisions.find((r) => r.id === job.revision)?.state).toBe('rejected');
    expect(existsSync(path.join(dir, 'store', 'sources', 'parcels', `r${job.revision}`))).toBe(false);
  });

  it('refuses hostile zips (traversal, absolute path, symlink, bomb, oversize) and writes nothing outside the data dir', async () => {
    const before = await currentTile();
    const escape = '../../../../../escaped.txt';
    const absolute = path.join(dir, 'absolute.txt');
    const text = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `${'0'.repeat(60)}${(i * 7919) % 1000}\n`).join(''));
    const cases: { name: string; zip: Buffer; message: RegExp }[] = [
      { name: 'traversal', zip: await makeZip([{ name: 'a.shp', data: Buffer.from('x') }, { name: 'aa/aa/aa/aa/aa/escaped.txt', data: Buffer.from('pwned') }], [['aa/aa/aa/aa/aa/escaped.txt', escape]]), message: /"\.\.\/.*escaped\.txt".*\.\./ },
      { name: 'absolute', zip: await makeZip([{ name: 'x'.repeat(absolute.length), data: Buffer.from('pwned') }], [['x'.repeat(absolute.length), absolute]]), message: /absolute path/ },
      { name: 'symlink', zip: await makeZip([{ name: 'parcels.shp', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]), message: /symbolic link/ },
      { name: 'bomb', zip: await makeZip([{ name: 'parcels.dbf', data: Buffer.alloc(12 * 1024 * 1024) }]), message: /expands \d+:1/ },
      { name: 'oversize', zip: await makeZip([1, 2, 3].map((i) => ({ name: `part${i}.dbf`, data: text(100_000) }))), message: /more than \d+ bytes/ },
    ];
    // The oversize case is no bomb: each entry compresses far less than the ratio limit, it is only too big in all.
    const oversize = cases[4] as { zip: Buffer };
    expect((text(100_000).length * 3) / oversize.zip.length).toBeLessThan(200);
    expect(text(100_000).length * 3).toBeGreaterThan(LIMIT * 4);
    for (const c of cases) {
      expect(c.zip.length, c.name).toBeLessThan(LIMIT);
      const job = await uploadJob(c.zip, 'application/zip', `${c.name}.zip`);
      expect(job.state, c.name).toBe('failed');
      expect(job.error, c.name).toMatch(new RegExp(`^upload "${c.name}\\.zip" \\(r${job.revision}\\): `));
      expect(job.error, c.name).toMatch(c.message);
    }
    expect(existsSync(path.join(path.dirname(dir), 'escaped.txt'))).toBe(false);
    expect(existsSync(path.join(dir, 'escaped.txt'))).toBe(false);
    expect(existsSync(absolute)).toBe(false);
    // Outside the data dir there is only what the test itself wrote.
    expect(walk(dir).filter((f) => !f.startsWith('store/')).sort()).toEqual(['parcels.geojson', 'plantiles.yaml']);
    const after = await currentTile();
    expect(after.version).toBe(before.version);
    expect(after.bytes.equals(before.bytes)).toBe(true);
  });
});
