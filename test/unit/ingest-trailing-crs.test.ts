import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Polygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestLayer } from '../../pipeline/ingest/ingest-layer.js';
import { findTrailingCrs, readTrailingCrs, TAIL_MAX, type TrailingCrs } from '../../pipeline/ingest/read-trailing-crs.js';
import { makeParcels } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

const crs = (name: string): unknown => ({ type: 'name', properties: { name } });

/** The crs member after the features, read the slow way: the parsed document's keys, in the order written. */
function truth(doc: string): string | null {
  const parsed = JSON.parse(doc) as { crs?: unknown };
  const keys = Object.keys(parsed);
  if (!keys.includes('crs') || keys.indexOf('crs') < keys.indexOf('features')) return null;
  return JSON.stringify(parsed.crs);
}

/** The answer as JSON text of the member's value, or "none" / "unknown". */
function answer(found: TrailingCrs | null): string | null {
  if (found === null) return null;
  return found.kind === 'crs' ? JSON.stringify(JSON.parse(found.bytes.toString('utf8'))) : found.kind;
}

// A FeatureCollection whose crs member comes after its features is looked for from the end
// of the file before the first feature is read (read-trailing-crs.ts).
describe('a crs member after the features, found from the end of the file', () => {
  const tricky = [
    { type: 'Feature', properties: { s: 'a "crs": {"x"} ]} \\', crs: 'not this one' }, geometry: { type: 'Point', coordinates: [1, 2] } },
    { type: 'Feature', properties: { t: '\\\\"', u: '水田 😀' }, geometry: null },
  ];
  const layouts: [string, Record<string, unknown>][] = [
    ['crs last', { type: 'FeatureCollection', features: tricky, crs: crs('EPSG:4548') }],
    ['crs between features and other members', { type: 'FeatureCollection', features: tricky, crs: crs('urn:ogc:def:crs:EPSG::4548'), name: 'a "}" name \\', bbox: [1, 2, 3, 4], ok: true, n: null }],
    ['crs first', { type: 'FeatureCollection', crs: crs('EPSG:4548'), features: tricky, name: 'x' }],
    ['no crs', { type: 'FeatureCollection', features: tricky, meta: { crs: crs('EPSG:4490') } }],
    ['features last', { crs: crs('EPSG:4490'), type: 'FeatureCollection', features: tricky }],
    ['crs null, last', { type: 'FeatureCollection', features: tricky, crs: null }],
    ['no features', { type: 'FeatureCollection', name: 'x' }],
    ['empty features, crs last', { type: 'FeatureCollection', features: [], crs: crs('CRS84') }],
  ];

  it('finds it as parsing the whole document would, compact or pretty, from any window that reaches far enough', () => {
    for (const [name, doc] of layouts) {
      for (const text of [JSON.stringify(doc), `\uFEFF${JSON.stringify(doc, null, 2)}\r\n\t `]) {
        const bytes = Buffer.from(text);
        const expected = truth(text.replace(/^\uFEFF/, '')) ?? 'none';
        expect(answer(findTrailingCrs(bytes)), name).toBe(expected);
        // A window cut anywhere either asks for more or already knows the answer.
        for (let from = 1; from < bytes.length; from++) {
          const got = answer(findTrailingCrs(bytes.subarray(from)));
          if (got !== null) expect(got, `${name}, from byte ${from}`).toBe(expected);
        }
      }
    }
  });

  it('says unknown for an end that is not that of a JSON object, rather than guess', () => {
    for (const text of ['[1, 2]', '{"features": [], "crs" {}}', '{"features": [] "crs": {}}', '{"a": 1,}', 'not json']) {
      expect(answer(findTrailingCrs(Buffer.from(text))), text).toBe('unknown');
    }
  });

  describe('in files', () => {
    let dir: string;
    beforeAll(() => { dir = makeTempDir('plantiles-trailing-crs-'); });
    afterAll(() => removeDir(dir));

    it('reads only the end of the file: a crs member with more than TAIL_MAX bytes after it is unknown', async () => {
      const file = path.join(dir, 'far.geojson');
      const features = makeParcels(40, 40).features;
      writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features, crs: crs('EPSG:4490'), note: 'x'.repeat(64 * 1024) }));
      expect(answer(await readTrailingCrs(file))).toBe(JSON.stringify(crs('EPSG:4490')));
      writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features, crs: crs('EPSG:4490'), note: 'x'.repeat(TAIL_MAX) }));
      expect(answer(await readTrailingCrs(file))).toBe('unknown');
      writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features }));
      expect(answer(await readTrailingCrs(file))).toBe('none');
    });

    it('fails, naming the file and what to set, when such a crs member names another CRS than the features were read by', async () => {
      const file = path.join(dir, 'late.geojson');
      const features = makeParcels(2, 1).features;
      const far = 'x'.repeat(TAIL_MAX);
      writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features, crs: crs('EPSG:4490'), note: far }));
      await expect(ingestLayer({ source: file })).rejects.toThrow(
        /^late\.geojson: the "crs" member \(EPSG:4490\) comes after the features, too far from the end of the file to be read before them, so they were read as WGS 84, the GeoJSON default: set crs: EPSG:4490 in the layer config, or move "crs" before "features"$/,
      );
      // Set in the layer config, it reads; naming the default, there is nothing to fix.
      expect((await ingestLayer({ source: file, crs: 'EPSG:4490' })).crs).toMatch(/^EPSG:4490 /);
      writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features, crs: crs('urn:ogc:def:crs:OGC:1.3:CRS84'), note: far }));
      expect((await ingestLayer({ source: file })).features).toHaveLength(2);
    });

    it('reads two crs members naming the same CRS, and refuses two that differ', async () => {
      const file = path.join(dir, 'two.geojson');
      const features = makeParcels(2, 1).features;
      const twice = (first: string, second: string): string =>
        JSON.stringify({ type: 'FeatureCollection', crs: crs(first), features, CRS_AGAIN: crs(second) }).replace('"CRS_AGAIN"', '"crs"');
      writeFileSync(file, twice('EPSG:4490', 'urn:ogc:def:crs:EPSG::4490'));
      const layer = await ingestLayer({ source: file });
      expect(layer.crs).toMatch(/^EPSG:4490 /);
      expect((layer.features[0]?.geometry as Polygon).coordinates[0]?.[0]).toEqual([115.95, 36.43]);
      writeFileSync(file, twice('EPSG:4490', 'EPSG:4326'));
      await expect(ingestLayer({ source: file })).rejects.toThrow(/^two\.geojson: two "crs" members, one naming EPSG:4490 and one after the features naming EPSG:4326: keep one$/);
    });
  });
});
