import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintSource } from '../../pipeline/jobs/fingerprint-source.js';
import { scanSources } from '../../pipeline/jobs/scan-sources.js';
import { loadConfig } from '../../src/config/load-config.js';
import { SqliteSources } from '../../src/store/sqlite-sources.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

// The built CLI as a user runs it: exit codes 0/1/2, one-line reasons, --json.
describe('plantiles CLI', () => {
  let dir: string;
  let configFile: string;
  const run = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', ...args], { encoding: 'utf8', env: { ...process.env, PLANTILES_CONFIG: configFile } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(() => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels());
    writeGeojson(path.join(dir, 'broken.geojson'), makeParcels());
    writeConfig(dir, {
      ...parcelConfig(),
      layers: [
        (parcelConfig().layers as unknown[])[0],
        { id: 'broken', source: 'broken.geojson', idField: 'BSM', minzoom: 8, maxzoom: 10 },
      ],
    });
    configFile = path.join(dir, 'plantiles.yaml');
  });
  afterAll(() => removeDir(dir));

  it('publishes, then says unchanged (exit 0, {"state":"unchanged"} with --json)', () => {
    const first = run('publish', 'parcels');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/parcels: published 1\.0\.0/);
    const second = run('publish', 'parcels', '--json');
    expect(second.status).toBe(0);
    const result = second.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'result');
    expect(result).toMatchObject({ state: 'unchanged', version: '1.0.0', layer: 'parcels' });
  });

  it('records the source it published, so a scheduled scan does not publish it again', async () => {
    const config = loadConfig(configFile, {});
    const store = openSqliteStore(config.storage.dir);
    try {
      const sources = new SqliteSources(store.db);
      const published = sources.state('parcels').published;
      const now = await fingerprintSource(path.join(dir, 'parcels.geojson'));
      expect(published).toMatchObject({ source: now.source, files: now.files, hash: now.hash });
      const changed = await scanSources({ config, sources, hasActiveJob: () => false, logger: pino({ level: 'silent' }) });
      expect(changed.map((c) => c.layer)).toEqual(['broken']);
      // Both publishes are in the audit log, as the admin API's are.
      const audit = store.db.prepare("SELECT actor, action, layer, result FROM audit WHERE action = 'publish' ORDER BY id").all();
      expect(audit).toEqual([
        { actor: 'cli', action: 'publish', layer: 'parcels', result: 'published 1.0.0 (was none)' },
        { actor: 'cli', action: 'publish', layer: 'parcels', result: 'unchanged (version 1.0.0)' },
      ]);
    } finally {
      store.close();
    }
  });

  it('publishes a layer named twice once', () => {
    const twice = run('publish', 'parcels', 'parcels', '--json');
    expect(twice.status).toBe(0);
    const results = twice.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.event === 'result');
    expect(results).toEqual([expect.objectContaining({ layer: 'parcels', state: 'unchanged' })]);
  });

  it('lists versions, current marked', () => {
    const r = run('versions', 'parcels');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\* 1\.0\.0\s+live/m);
    const json = run('versions', 'parcels', '--json');
    expect(JSON.parse(json.stdout.trim().split('\n')[0] ?? '{}')).toMatchObject({ version: '1.0.0', current: true });
  });

  it('fails with exit 1 and one line naming the file, the feature and the problem', () => {
    const fc = makeParcels();
    const coords = fc.features[4]?.geometry.coordinates[0];
    if (coords) coords[1] = [Number.NaN, 36.4];
    writeGeojson(path.join(dir, 'broken.geojson'), fc);
    const r = run('publish', 'broken');
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/broken\.geojson: feature BSM=371502000000000005: exterior ring: point 2 is not a pair of finite numbers/);
  });

  it('publishes the other layers of --all when one fails, then exits 1 naming the failed ones', () => {
    const other = makeTempDir();
    try {
      const fc = makeParcels();
      const coords = fc.features[4]?.geometry.coordinates[0];
      if (coords) coords[1] = [Number.NaN, 36.4];
      writeGeojson(path.join(other, 'broken.geojson'), fc);
      writeGeojson(path.join(other, 'parcels.geojson'), makeParcels());
      const layer = (id: string): Record<string, unknown> => ({ id, source: `${id}.geojson`, idField: 'BSM', minzoom: 8, maxzoom: 10 });
      writeConfig(other, { ...parcelConfig(), layers: [layer('broken'), layer('parcels')] });
      const all = spawnSync(process.execPath, ['dist/src/cli/main.js', 'publish', '--all'], { encoding: 'utf8', env: { ...process.env, PLANTILES_CONFIG: path.join(other, 'plantiles.yaml') } });
      expect(all.status).toBe(1);
      expect(all.stdout).toMatch(/^parcels: published 1\.0\.0/m);
      const errors = all.stderr.trim().split('\n');
      expect(errors).toHaveLength(2);
      expect(errors[0]).toMatch(/^plantiles: publish broken failed: broken\.geojson: feature BSM=371502000000000005: /);
      expect(errors[1]).toBe('plantiles: 1 of 2 layers failed to publish (broken; reasons above); the others were published');
    } finally {
      removeDir(other);
    }
  });

  it.each([
    [['publish'], /name the layers to publish/],
    [['publish', 'nosuch'], /unknown layer "nosuch"/],
    [['publish', 'parcels', '--all'], /not both/],
    [['frobnicate'], /unknown command/],
    [['versions'], /missing required argument/],
    [['versions', 'bad/id'], /"bad\/id" is not a layer id/],
    [['rollback', 'parcels', 'abc'], /"abc" is not a version tag/],
    [['rollback', 'bad/id', '1.0.0'], /"bad\/id" is not a layer id/],
  ])('exits 2 on a usage error %#', (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('rolls back and refuses an unknown version with exit 1', () => {
    const fc = makeParcels();
    const p = fc.features[0]?.properties;
    if (p) p.TBMJ = 1;
    writeGeojson(path.join(dir, 'parcels.geojson'), fc);
    const republished = run('publish', 'parcels').stdout;
    expect(republished).toMatch(/published 1\.1\.0/);
    // One parcel's area changed: the others' records are taken from the ingest memo.
    expect(republished).toMatch(new RegExp(`; ${fc.features.length - 1} source records unchanged since the last read`));
    const back = run('rollback', 'parcels', '1.0.0');
    expect(back.status).toBe(0);
    expect(back.stdout).toMatch(/now 1\.0\.0 \(was 1\.1\.0\)/);
    const bad = run('rollback', 'parcels', '7.0.0');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/no version 7\.0\.0/);
    // Past storage.keepVersions (3), a publish says which versions retention removed.
    for (const [tbmj, version] of [[2, '1.2.0'], [3, '1.3.0']] as const) {
      if (p) p.TBMJ = tbmj;
      writeGeojson(path.join(dir, 'parcels.geojson'), fc);
      const out = run('publish', 'parcels').stdout;
      expect(out).toMatch(new RegExp(`published ${version.replace(/\./g, '\\.')}`));
      if (version === '1.3.0') expect(out).toMatch(/; removed by retention \(storage\.keepVersions\): 1\.1\.0$/m);
      else expect(out).not.toMatch(/removed by retention/);
    }
  });

  it.each([
    [['versions', 'parcels']],
    [['rollback', 'parcels', '1.0.0']],
    [['export', 'parcels', 'out.mbtiles']],
  ])('exits 1 naming the directory, and creates nothing, where there is no store %#', (args) => {
    const other = makeTempDir();
    try {
      writeConfig(other, parcelConfig());
      const store = path.join(other, 'store');
      const argv = args.map((a) => (a.endsWith('.mbtiles') ? path.join(other, a) : a));
      const r = spawnSync(process.execPath, ['dist/src/cli/main.js', ...argv], { encoding: 'utf8', env: { ...process.env, PLANTILES_CONFIG: path.join(other, 'plantiles.yaml') } });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        `plantiles: no tile store in ${store} (nothing has been published there; check storage.dir or PLANTILES_DATA_DIR)`,
      ]);
      expect(existsSync(store), 'the store directory was created').toBe(false);
      expect(existsSync(path.join(other, 'out.mbtiles'))).toBe(false);
    } finally {
      removeDir(other);
    }
  });

  it('exits 1 with one line naming the store and the problem when its folder is a file or its file is not a store', () => {
    const other = makeTempDir();
    try {
      writeConfig(other, parcelConfig());
      writeGeojson(path.join(other, 'parcels.geojson'), makeParcels(3));
      const env = { ...process.env, PLANTILES_CONFIG: path.join(other, 'plantiles.yaml') };
      const notAFolder = path.join(other, 'a-file');
      writeFileSync(notAFolder, 'x');
      const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'publish', 'parcels'], { encoding: 'utf8', env: { ...env, PLANTILES_DATA_DIR: notAFolder } });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        `plantiles: ${notAFolder}: cannot use this as the store's folder: a file is in the way where a folder should be (storage.dir or PLANTILES_DATA_DIR must name a folder)`,
      ]);
      const storeDir = path.join(other, 'store');
      mkdirSync(storeDir);
      writeFileSync(path.join(storeDir, 'plantiles.sqlite'), 'not a database, but long enough to have a header of a hundred bytes or so: '.repeat(4));
      const v = spawnSync(process.execPath, ['dist/src/cli/main.js', 'versions', 'parcels'], { encoding: 'utf8', env });
      expect(v.status).toBe(1);
      expect(v.stderr.trim().split('\n')).toEqual([
        `plantiles: ${path.join(storeDir, 'plantiles.sqlite')}: cannot open the tile store: file is not a database (it is not a plantiles store)`,
      ]);
    } finally {
      removeDir(other);
    }
  });

  it('serve warns at start about a configured layer whose source file is missing', async () => {
    const other = makeTempDir();
    try {
      writeConfig(other, { ...parcelConfig('missing.geojson'), server: { port: 0 } });
      const child = spawn(process.execPath, ['dist/src/cli/main.js', 'serve'], { env: { ...process.env, PLANTILES_CONFIG: path.join(other, 'plantiles.yaml') } });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; if (/plantiles serving/.test(out)) resolve(); });
        child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      expect(out).toMatch(/warning: layer "parcels": source .*missing\.geojson not found \(nothing to serve for it until the file exists and is published\)/);
    } finally {
      removeDir(other);
    }
  });

  it('start and serve on a port in use exit 1 with one line naming it, and start publishes nothing first', async () => {
    const other = makeTempDir();
    const busy = createNetServer();
    try {
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      const port = (busy.address() as AddressInfo).port;
      writeConfig(other, parcelConfig());
      writeGeojson(path.join(other, 'parcels.geojson'), makeParcels(3, 3));
      for (const command of ['start', 'serve']) {
        const r = spawnSync(process.execPath, ['dist/src/cli/main.js', command], { encoding: 'utf8', env: { ...process.env, PLANTILES_CONFIG: path.join(other, 'plantiles.yaml'), PORT: String(port) } });
        expect(r.status, command).toBe(1);
        expect(r.stderr.trim().split('\n'), command).toEqual([
          `plantiles: cannot listen on 127.0.0.1:${port}: the port is in use (another plantiles, or another program?); set PORT or server.port (and server.host or --host)`,
        ]);
        if (command === 'start') expect(existsSync(path.join(other, 'store')), 'start published before finding the port in use').toBe(false);
      }
    } finally {
      busy.close();
      removeDir(other);
    }
  });

  it('start serves the layers that published when another fails, saying so', async () => {
    const other = makeTempDir();
    try {
      writeConfig(other, { ...parcelConfig(), server: { port: 0 }, layers: [
        (parcelConfig().layers as unknown[])[0],
        { id: 'broken', source: 'broken.geojson', idField: 'BSM', minzoom: 8, maxzoom: 10 },
      ] });
      writeGeojson(path.join(other, 'parcels.geojson'), makeParcels(3, 3));
      writeFileSync(path.join(other, 'broken.geojson'), '{"type":"FeatureCollection","features":[');
      const child = spawn(process.execPath, ['dist/src/cli/main.js', 'start'], { env: { ...process.env, PLANTILES_CONFIG: path.join(other, 'plantiles.yaml') } });
      let out = '';
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c; });
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; const m = /plantiles serving .* at (http\S+)/.exec(out); if (m?.[1]) resolve(m[1]); });
        child.once('exit', (code) => reject(new Error(`start exited ${code}: ${out}${err}`)));
      });
      try {
        expect(err).toMatch(/1 of 2 layers failed to publish \(broken; .*; serving what is published/);
        expect((await fetch(`${url}/tiles/parcels.json`)).status).toBe(200);
        expect((await fetch(`${url}/tiles/broken.json`)).status).toBe(404);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    } finally {
      removeDir(other);
    }
  });

  it('refuses at load, naming file and key, a layer whose format, CRS or encoding ingest cannot read', () => {
    const other = makeTempDir();
    try {
      writeFileSync(path.join(other, 'plantiles.yaml'), [
        'node: { id: t, title: t }',
        'layers:',
        '  - { id: a, source: parcels.csv }',
        '  - { id: b, source: b.shp, crs: "EPSG:99999", encoding: latin1 }',
        '  - { id: c, source: c.shp, crs: "EPSG:4548", encoding: CP936 }',
      ].join('\n'));
      const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'versions', 'a'], { encoding: 'utf8', env: { ...process.env, PLANTILES_CONFIG: path.join(other, 'plantiles.yaml') } });
      expect(r.status).toBe(1);
      const line = r.stderr.trim();
      expect(line).toMatch(/^plantiles: invalid config: .*plantiles\.yaml: /);
      expect(line).toMatch(/layers\[0\]\.source: "parcels\.csv" is not a source plantiles reads \(\.shp \.zip \.geojson/);
      expect(line).toMatch(/layers\[1\]\.crs: unknown CRS EPSG:99999/);
      expect(line).toMatch(/layers\[1\]\.encoding: "latin1" is not an encoding plantiles reads/);
      expect(line).not.toMatch(/layers\[2\]/);
    } finally {
      removeDir(other);
    }
  });

  it('fails, and exits, when the source is a device or a pipe rather than a file', () => {
    const other = makeTempDir();
    try {
      symlinkSync('/dev/zero', path.join(other, 'zero.geojson'));
      writeConfig(other, parcelConfig('zero.geojson'));
      const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'publish', 'parcels'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PLANTILES_CONFIG: path.join(other, 'plantiles.yaml') } });
      expect(r.signal, 'it did not exit').toBeNull();
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/publish parcels failed: zero\.geojson: source is not a file/);
    } finally {
      removeDir(other);
    }
  });

  it('exits 1 naming the key for an invalid config', () => {
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'versions', 'x'], {
      encoding: 'utf8', env: { ...process.env, PLANTILES_CONFIG: path.join(dir, 'nope.yaml') },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nope\.yaml: config file not found/);
  });
});
