import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, resolveConfigPath } from '../../src/config/load-config.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

describe('config', () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));
  const file = path.join(dir, 'x.yaml');

  it('loads the shipped demo config with paths relative to its folder', () => {
    const cfg = loadConfig('config/plantiles.yaml', {});
    expect(cfg.node.id).toBe('liaocheng');
    expect(cfg.node.title).toMatch(/合成|synthetic/);
    expect(cfg.storage.dir).toBe(path.resolve('tiles'));
    expect(cfg.layers.map((l) => l.id)).toEqual(expect.arrayContaining(['ubound', 'farmland', 'pbf', 'eco-redline', 'heritage', 'projects']));
    expect(cfg.layers.find((l) => l.id === 'ubound')?.source).toBe(path.resolve('demo/ubound.shp'));
  });

  it('takes a CRS written as a bare EPSG number (crs: 4548), as ingest does', () => {
    writeFileSync(file, 'layers:\n  - { id: a, source: a.shp, crs: 4548 }\n');
    expect(loadConfig(file, {}).layers[0]?.crs).toBe('4548');
  });

  it('applies PORT and PLANTILES_DATA_DIR', () => {
    const cfg = loadConfig('config/plantiles.yaml', { PORT: '9123', PLANTILES_DATA_DIR: '/var/lib/plantiles' });
    expect(cfg.server.port).toBe(9123);
    expect(cfg.storage.dir).toBe('/var/lib/plantiles');
  });

  it('treats PLANTILES_DATA_DIR= and PLANTILES_CONFIG= (set but empty) as unset', () => {
    const cfg = loadConfig('config/plantiles.yaml', { PORT: '', PLANTILES_DATA_DIR: '' });
    expect(cfg.storage.dir).toBe(path.resolve('tiles'));
    expect(resolveConfigPath(undefined, { PLANTILES_CONFIG: '' })).toBe(path.resolve('config/plantiles.yaml'));
  });

  it('says a folder given as the config file is a folder', () => {
    expect(() => loadConfig(dir, {})).toThrow(/is a folder, not a config file/);
  });

  it.each([
    [{ serverr: {} }, /serverr: unknown key/],
    [{ server: { port: 'eighty' } }, /server\.port: /],
    [{ layers: [{ id: 'bad id', source: 'a.shp' }] }, /layers\[0\]\.id: /],
    [{ layers: [{ id: 'a', source: 'a.shp', minzoom: 9, maxzoom: 3 }] }, /layers\[0\]\.minzoom: minzoom 9 is above maxzoom 3/],
    [{ layers: [{ id: 'a', source: 'a.shp' }, { id: 'a', source: 'b.shp' }] }, /layers\[1\]\.id: duplicate layer id "a"/],
    [{ layers: [{ id: 'a', source: 'a.shp', colour: 'red' }] }, /layers\[0\]\.colour: unknown key/],
    [{ admin: { tokens: [{ name: 'x', env: 'not valid' }] } }, /admin\.tokens\[0\]\.env: /],
    [{ schedule: { nice: 20 } }, /schedule\.nice: /],
    [{ mirrors: [{ upstream: 'ftp://127.0.0.1:8080' }] }, /mirrors\[0\]\.upstream: "ftp:\/\/127\.0\.0\.1:8080" is not an http or https URL/],
    [{ mirrors: [{ upstream: 'http://127.0.0.1:8080?x=1#f' }] }, /mirrors\[0\]\.upstream: .* has a query or fragment/],
    [{ mirrors: [{ upstream: 'city' }] }, /mirrors\[0\]\.upstream: "city" is not a URL/],
    [{ schedule: { tilingThreads: -1 } }, /schedule\.tilingThreads: /],
  ])('names the key of an invalid config %#', (doc, message) => {
    expect(() => parseConfig(doc, 'x.yaml', {})).toThrow(ConfigError);
    expect(() => parseConfig(doc, 'x.yaml', {})).toThrow(message);
  });

  it('reads how publish jobs run, and leaves the defaults to the job system when unset', () => {
    expect(parseConfig({ schedule: { tilingThreads: 2, nice: 0 } }, 'x.yaml', {}).schedule).toMatchObject({ concurrency: 1, tilingThreads: 2, nice: 0 });
    const unset = parseConfig({}, 'x.yaml', {}).schedule;
    expect(unset.tilingThreads).toBeUndefined();
    expect(unset.nice).toBeUndefined();
  });

  it('reports YAML syntax errors with the file and line', () => {
    writeFileSync(file, 'node:\n  id: [unclosed\n');
    expect(() => loadConfig(file, {})).toThrow(/x\.yaml.*line \d+.*not valid YAML/);
  });

  it('refuses a bad PORT', () => {
    expect(() => parseConfig({}, 'x.yaml', { PORT: 'abc' })).toThrow(/PORT/);
  });
});
