import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Polygon } from 'geojson';
import proj4 from 'proj4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestLayer } from '../../pipeline/ingest/ingest-layer.js';
import { readGeojson } from '../../pipeline/ingest/read-geojson.js';
import { FeatureCollectionScanner, JsonScanError } from '../../pipeline/ingest/scan-feature-collection.js';
import { featureIdFor } from '../../src/domain/feature-id.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';
import { GK117, writeNdjson, writeZip } from '../fixtures/ingest/sources.js';

/** Feeds a document to the scanner in chunks of the given sizes, cycling; returns the parsed features. */
function scan(doc: string, sizes: number[]): unknown[] {
  const bytes = Buffer.from(doc);
  const scanner = new FeatureCollectionScanner(1 << 20);
  const out: unknown[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = sizes[k % sizes.length] as number;
    for (const e of scanner.feed(bytes.subarray(at, at + n))) if (e.kind === 'feature') out.push(JSON.parse(e.bytes.toString('utf8')));
    at += n;
  }
  scanner.finish();
  return out;
}

describe('FeatureCollection scanner', () => {
  const tricky = {
    name: 'a "quoted" ] name }', bbox: [1, 2, 3, 4], meta: { nested: [[{ features: [] }]] },
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: { s: 'brackets ]}[{ and \\"escaped\\" quote', u: '水田 \u2028 😀', n: -1.5e-7, t: true, z: null }, geometry: { type: 'Point', coordinates: [1, 2] } },
      { type: 'Feature', properties: {}, geometry: null },
      { type: 'Feature', properties: { deep: [[[[]]]] }, geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] } },
    ],
    after: 'member after the features',
  };

  it('splits features exactly as JSON.parse reads them, whatever the chunk boundaries', () => {
    const compact = JSON.stringify(tricky);
    const pretty = `\uFEFF${JSON.stringify(tricky, null, 2)}\n`;
    for (const doc of [compact, pretty]) {
      for (const sizes of [[1], [2, 3], [7], [64], [1 << 16], [5, 1, 13]]) {
        expect(scan(doc, sizes), `chunks ${sizes.join(',')}`).toEqual(tricky.features);
      }
    }
  });

  it('hands out a feature vouched for as known without scanning it, and scans on after it', () => {
    const doc = JSON.stringify(tricky);
    const texts = tricky.features.map((f) => JSON.stringify(f));
    for (const vouched of [[0], [1], [0, 2], [0, 1, 2]]) {
      for (const sizes of [[1 << 16], [7, 300]]) {
        const scanned: number[] = [];
        const scanner = new FeatureCollectionScanner<{ length: number; k: number }>(1 << 20, {
          known: (chunk, at) => {
            for (const k of vouched) {
              const text = Buffer.from(texts[k] as string);
              if (at + text.length <= chunk.length && chunk.subarray(at, at + text.length).equals(text)) return { length: text.length, k };
            }
            return null;
          },
          scanned: (bytes) => {
            scanned.push(texts.indexOf(bytes.toString('utf8')));
            return undefined;
          },
        });
        const bytes = Buffer.from(doc);
        const out: unknown[] = [];
        const knownAt: number[] = [];
        for (let at = 0, n = 0; at < bytes.length; n++) {
          const size = sizes[n % sizes.length] as number;
          for (const e of scanner.feed(bytes.subarray(at, at + size))) {
            if (e.kind !== 'feature') continue;
            if (e.known) knownAt.push(e.index);
            out.push(JSON.parse(e.bytes.toString('utf8')));
          }
          at += size;
        }
        scanner.finish();
        expect(out).toEqual(tricky.features);
        // In one chunk, every vouched-for feature is taken as known.
        if (sizes[0] === 1 << 16) expect(knownAt).toEqual(vouched);
        // The others were scanned, and told as they ended.
        expect([...knownAt, ...scanned].sort()).toEqual([0, 1, 2]);
      }
    }
  });

  it('reports truncation, trailing garbage and a non-object with the feature where there is one', () => {
    const doc = JSON.stringify(tricky);
    expect(() => scan(doc.slice(0, doc.indexOf('brackets')), [9])).toThrow(JsonScanError);
    try {
      scan(doc.slice(0, doc.indexOf('deep')), [9]);
    } catch (err) {
      expect((err as JsonScanError).feature).toBe(2);
      expect((err as Error).message).toMatch(/ends unexpectedly at byte \d+ \(truncated\?\)/);
    }
    expect(() => scan(`${doc} x`, [4])).toThrow(/text after the end of the document/);
    expect(() => scan('[1,2]', [4])).toThrow(/expected a GeoJSON FeatureCollection, found a JSON array/);
    expect(() => scan('{"features":[{"a":1}}]}', [3])).toThrow(/unexpected "}"/);
  });

  it('refuses a feature over the size limit without holding it', () => {
    const scanner = new FeatureCollectionScanner(1000);
    scanner.feed(Buffer.from('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"s":"'));
    expect(() => scanner.feed(Buffer.alloc(2000, 0x61))).toThrow(/more than .* MiB of JSON, over the limit per feature/);
  });
});

describe('GeoJSON and GeoJSONSeq ingest', () => {
  let dir: string;
  beforeAll(() => { dir = makeTempDir('plantiles-geojson-'); });
  afterAll(() => removeDir(dir));

  it('refuses a property nested too deeply to keep, naming the file and feature (not a bare stack overflow)', async () => {
    const file = path.join(dir, 'deep.geojson');
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    writeFileSync(file, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"BSM":"x1","a":${deep}},"geometry":{"type":"Point","coordinates":[116,36]}}]}`);
    await expect(ingestLayer({ source: file, idField: 'BSM' })).rejects.toThrow('deep.geojson: feature #0: has a property nested too deeply to keep');
  });

  it('reads a FeatureCollection in WGS 84 by default, with fields selected and renamed', async () => {
    const file = path.join(dir, 'parcels.geojson');
    writeGeojson(file, makeParcels(4, 3));
    const layer = await ingestLayer({ source: file, idField: 'BSM', fields: ['BSM', { from: 'DLMC', to: '地类名称' }, 'NOSUCH'] });
    expect(layer.crs).toBe('EPSG:4326 (WGS 84), the GeoJSON default');
    expect(layer.features).toHaveLength(12);
    expect(layer.features[1]?.properties).toEqual({ BSM: '371502000000000002', 地类名称: '水浇地' });
    expect(layer.fields).toEqual({ BSM: 'String', 地类名称: 'String' });
    expect((layer.features[0]?.geometry as Polygon).coordinates[0]?.[0]).toEqual([115.95, 36.43]);
  });

  it('hands the same features one by one as in batches, each batch made in source order', async () => {
    const file = path.join(dir, 'batches.geojson');
    writeGeojson(file, makeParcels(120, 60));
    const options = { crsFromConfig: false };
    const one = await readGeojson(file, options);
    const single: unknown[] = [];
    for await (const f of one.features) single.push(f.properties.BSM);
    await one.close();
    const batched = await readGeojson(file, options);
    const lengths: number[] = [];
    const inBatches: unknown[] = [];
    for await (const batch of batched.batches ?? []) {
      const before = inBatches.length;
      for (const f of batch) inBatches.push(f.properties.BSM);
      lengths.push(inBatches.length - before);
    }
    await batched.close();
    expect(single).toHaveLength(7200);
    expect(inBatches).toEqual(single);
    expect(lengths.length).toBeGreaterThan(1); // more than one read of the file
  });

  it('honours the crs member (EPSG:4548), before or after the features', async () => {
    const fc = makeParcels(2, 1);
    const toGk = proj4('+proj=longlat +ellps=GRS80 +no_defs', GK117);
    for (const f of fc.features) f.geometry.coordinates = f.geometry.coordinates.map((r) => r.map((p) => toGk.forward(p as [number, number])));
    const file = path.join(dir, 'gk.geojson');
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4548' } }, features: fc.features }));
    const layer = await ingestLayer({ source: file });
    expect(layer.crs).toMatch(/^EPSG:4548 /);
    expect((layer.features[0]?.geometry as Polygon).coordinates[0]?.[0]?.[0]).toBeCloseTo(115.95, 9);
    // After the features, it is found (at the end of the file) before they are read: the same features, by the same CRS.
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: fc.features, crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4548' } } }));
    expect(await ingestLayer({ source: file })).toEqual(layer);
    // The layer's crs still wins over the file's, wherever the member is.
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: fc.features, crs: { type: 'name', properties: { name: 'EPSG:4326' } } }));
    expect(await ingestLayer({ source: file, crs: 'EPSG:4548' })).toEqual(layer);
    // …and coordinates that would pass as WGS 84 are read by the CRS the late member names, not by the default.
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features: makeParcels(2, 1).features, crs: { type: 'name', properties: { name: 'EPSG:4490' } } }));
    expect((await ingestLayer({ source: file })).crs).toMatch(/^EPSG:4490 /);
  });

  it('keeps every digit of a BSM written as a JSON number beyond 2^53', async () => {
    const file = path.join(dir, 'bignum.geojson');
    const text = JSON.stringify(makeParcels(2, 1)).replace('"BSM":"371502000000000001"', '"BSM":371502000000000001').replace('"BSM":"371502000000000002"', '"BSM":9007199254740993');
    writeFileSync(file, text);
    const layer = await ingestLayer({ source: file, idField: 'BSM' });
    expect(layer.features.map((f) => f.properties.BSM)).toEqual(['371502000000000001', '9007199254740993']);
    expect(layer.features.map((f) => f.id)).toEqual([featureIdFor('371502000000000001'), featureIdFor('9007199254740993')]);
  });

  it('reads GeoJSONSeq: RS-prefixed lines (RFC 8142), CRLF, blank lines and a BOM', async () => {
    const fc = makeParcels(3, 1);
    const rs = path.join(dir, 'rs.geojsons');
    writeNdjson(rs, fc, '\u001e');
    const crlf = path.join(dir, 'crlf.ndjson');
    writeFileSync(crlf, `\uFEFF${fc.features.map((f) => JSON.stringify(f)).join('\r\n\r\n')}`);
    for (const file of [rs, crlf]) {
      const layer = await ingestLayer({ source: file, idField: 'BSM' });
      expect(layer.features.map((f) => f.properties.DLMC), file).toEqual(['水田', '水浇地', '旱地']);
    }
    writeFileSync(crlf, `${JSON.stringify(fc.features[0])}\n\n{"type":"Feature",\n`);
    await expect(ingestLayer({ source: crlf })).rejects.toThrow(/crlf\.ndjson: feature #1: line 3 is not valid JSON/);
    // Files joined end to end: a byte-order mark at the start of any line.
    const joined = path.join(dir, 'joined.ndjson');
    writeFileSync(joined, fc.features.map((f) => `\uFEFF${JSON.stringify(f)}\n`).join(''));
    expect((await ingestLayer({ source: joined, idField: 'BSM' })).features).toHaveLength(3);
    // A last line cut short, with no newline after it.
    writeFileSync(joined, `${JSON.stringify(fc.features[0])}\n${JSON.stringify(fc.features[1]).slice(0, 40)}`);
    await expect(ingestLayer({ source: joined })).rejects.toThrow(/joined\.ndjson: feature #1: line 2 is not valid JSON: .* \(the last line, with no newline after it: truncated\?\)$/);
  });

  it('reads a zip holding one GeoJSON file (and no Shapefile) as that GeoJSON, naming it inside the zip', async () => {
    const inner = path.join(dir, 'inner.geojson');
    writeGeojson(inner, makeParcels(3, 1));
    const zip = path.join(dir, 'one-geojson.zip');
    await writeZip(zip, { 'data/耕地.geojson': inner, '__MACOSX/data/._耕地.geojson': inner });
    const layer = await ingestLayer({ source: zip, idField: 'BSM' });
    expect(layer.features.map((f) => f.properties.DLMC)).toEqual(['水田', '水浇地', '旱地']);
    writeFileSync(inner, '{"type":"FeatureCollection","features":[{"type":"Feature"');
    await writeZip(zip, { 'data/耕地.geojson': inner });
    await expect(ingestLayer({ source: zip })).rejects.toThrow(/^one-geojson\.zip\/data\/耕地\.geojson: /);
    // A problem of the whole source (its CRS) is named inside the zip once, not twice.
    writeFileSync(inner, `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:9999"}},"features":[${JSON.stringify(makeParcels(1, 1).features[0])}]}`);
    await writeZip(zip, { 'data/耕地.geojson': inner });
    await expect(ingestLayer({ source: zip })).rejects.toThrow(/^one-geojson\.zip\/data\/耕地\.geojson: .*unknown CRS EPSG:9999/);
  });

  it('names a UTF-16 file for what it is, and a source whose name differs only in case', async () => {
    const utf16 = path.join(dir, 'utf16.geojson');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(makeParcels(1, 1)), 'utf16le')]));
    await expect(ingestLayer({ source: utf16 })).rejects.toThrow(/utf16\.geojson: not valid JSON: unexpected byte 0xff at byte 0 \(a UTF-16 byte-order mark: GeoJSON must be UTF-8; save the file as UTF-8\)/);
    writeGeojson(path.join(dir, 'Upper.GeoJSON'), makeParcels(1, 1));
    await expect(ingestLayer({ source: path.join(dir, 'upper.geojson') })).rejects.toThrow('upper.geojson: source file not found (the folder has "Upper.GeoJSON": names are case-sensitive here, so set the layer\'s source to it)');
    // A dangling link is named as one, not as a file missing beside a same-named entry.
    symlinkSync('gone.geojson', path.join(dir, 'dangling.geojson'));
    await expect(ingestLayer({ source: path.join(dir, 'dangling.geojson') })).rejects.toThrow('dangling.geojson: source is a broken symbolic link to "gone.geojson" (its target does not exist)');
  });

  it('refuses GeoJSON that is not UTF-8 (saved as GBK), naming the feature', async () => {
    const file = path.join(dir, 'gbk.geojson');
    const text = JSON.stringify(makeParcels(2, 1));
    const iconv = (await import('iconv-lite')).default;
    writeFileSync(file, iconv.encode(text, 'gbk'));
    await expect(ingestLayer({ source: file })).rejects.toThrow(/gbk\.geojson: feature #0: is not valid UTF-8 text \(GeoJSON must be UTF-8/);
  });
});
