import { spawnSync } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { Compression, PMTiles, TileType, zxyToTileId as referenceTileId, type RangeResponse, type Source } from 'pmtiles';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionMeta } from '../../src/domain/catalog.js';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import { exportVersion } from '../../src/store/export/export-version.js';
import { zxyToTileId } from '../../src/store/export/pmtiles-format.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { TileRecord } from '../../src/store/tile-store.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { decodeTile } from '../helpers/mvt.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';

/** The pmtiles package's reader over a local file: an implementation independent of our writer. */
class LocalFileSource implements Source {
  constructor(private readonly file: string) {}
  getKey(): string {
    return this.file;
  }
  async getBytes(offset: number, length: number): Promise<RangeResponse> {
    const fd = await open(this.file, 'r');
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fd.read(buf, 0, length, offset);
      return { data: buf.buffer.slice(buf.byteOffset, buf.byteOffset + bytesRead) };
    } finally {
      await fd.close();
    }
  }
}

const cli = (dir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, ['dist/src/cli/main.js', '--config', path.join(dir, 'plantiles.yaml'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('PMTiles export', () => {
  let dir: string;

  beforeAll(() => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.geojson'), makeParcels(12, 10));
    writeConfig(dir, parcelConfig());
    const r = cli(dir, 'publish', 'parcels');
    expect(r.status, r.stderr).toBe(0);
  });
  afterAll(() => removeDir(dir));

  it('computes the same Hilbert tile ids as the pmtiles package', () => {
    for (const [z, x, y] of [[0, 0, 0], [1, 1, 0], [3, 5, 2], [12, 3367, 1602], [14, 13470, 6410], [20, 862_123, 409_876], [26, 2 ** 26 - 1, 12345]] as const) {
      expect(zxyToTileId(z, x, y)).toBe(referenceTileId(z, x, y));
    }
  });

  it('writes an archive the pmtiles reader opens: header, metadata and every tile equal to the store', async () => {
    const file = path.join(dir, 'parcels.pmtiles');
    const r = cli(dir, 'export', 'parcels', file, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ state: 'exported', layer: 'parcels', version: '1.0.0', format: 'pmtiles' });
    const archive = new PMTiles(new LocalFileSource(file));
    const header = await archive.getHeader();
    expect(header).toMatchObject({ specVersion: 3, tileType: TileType.Mvt, tileCompression: Compression.Gzip, internalCompression: Compression.Gzip, minZoom: 8, maxZoom: 13, clustered: true });
    expect(header.minLon).toBeCloseTo(115.95, 2);
    expect(header.maxLat).toBeCloseTo(36.528, 2);
    const metadata = (await archive.getMetadata()) as { vector_layers: { id: string; fields: Record<string, string> }[]; version: string };
    expect(metadata.version).toBe('1.0.0');
    expect(metadata.vector_layers).toEqual([expect.objectContaining({ id: 'parcels', fields: { BSM: 'String', DLBM: 'String', DLMC: 'String', TBMJ: 'Number', XZQDM: 'String' } })]);

    const store = openSqliteStore(path.join(dir, 'store'));
    try {
      const layer = store.getLayer('parcels');
      let count = 0;
      for (const t of store.iterateTiles(layer?.currentVid ?? -1)) {
        const got = await archive.getZxy(t.z, t.x, t.y);
        expect(got, `${t.z}/${t.x}/${t.y}`).toBeDefined();
        expect(Buffer.from(got?.data ?? new ArrayBuffer(0)).equals(gunzipSync(t.gz))).toBe(true);
        count++;
      }
      expect(header.numAddressedTiles).toBe(count);
      expect(await archive.getZxy(13, 0, 0)).toBeUndefined();
      const t = tileForLonLat(115.955, 36.435, 13);
      const some = await archive.getZxy(13, t.x, t.y);
      expect(Object.keys(decodeTile(new Uint8Array(some?.data ?? new ArrayBuffer(0))))).toEqual(['parcels']);
    } finally {
      store.close();
    }
  });

  it('uses leaf directories, runs and shared bodies for a large version, and the reader still finds every tile', async () => {
    const store = openSqliteStore(path.join(dir, 'big-store'));
    try {
      const n = 256; // every tile of zoom 8: 65,536 entries, too many for a 16 KiB root
      const build = store.beginBuild('big');
      const records: TileRecord[] = [];
      // Incompressible bodies of varied length, so the directory itself does not compress into 16 KiB.
      const noise = (x: number, y: number): string => {
        let out = '';
        for (let i = 0; out.length < 20 + ((x * 7919 + y * 104_729) % 300); i++) out += createHash('sha512').update(`${x},${y},${i}`).digest('base64');
        return out.slice(0, 20 + ((x * 7919 + y * 104_729) % 300));
      };
      const bodyOf = (x: number, y: number): string => (x < 64 && y < 64 ? 'sea' : `land ${x} ${y} ${noise(x, y)}`);
      for (let x = 0; x < n; x++) {
        for (let y = 0; y < n; y++) {
          const plain = Buffer.from(bodyOf(x, y));
          records.push({ z: 8, x, y, hash: createHash('sha256').update(plain).digest('hex').slice(0, 32), gz: gzipSync(plain), plainSize: plain.length });
        }
        if (records.length >= 8192) build.putTiles(records.splice(0));
      }
      build.putTiles(records);
      const meta: VersionMeta = { minzoom: 8, maxzoom: 8, bounds: [-180, -85, 180, 85], center: [0, 0, 8], geometryKind: 'polygon', vectorLayer: 'big', fields: {}, featureCount: 0 };
      build.commit(meta, 'big', { title: 'big', attribution: '', style: { color: '#000000', fillOpacity: 0, lineWidth: 1 } });
      const file = path.join(dir, 'big.pmtiles');
      const result = exportVersion(store, { layer: 'big', version: null }, file);
      expect(result.tiles).toBe(n * n);
      const archive = new PMTiles(new LocalFileSource(file));
      const header = await archive.getHeader();
      expect(header.leafDirectoryLength).toBeGreaterThan(0);
      expect(header.rootDirectoryOffset + header.rootDirectoryLength).toBeLessThanOrEqual(16_384);
      expect(header.numAddressedTiles).toBe(n * n);
      expect(header.numTileContents).toBe(n * n - 64 * 64 + 1);
      expect(header.numTileEntries).toBe(n * n - 64 * 64 + 1);
      expect((await stat(file)).size).toBe(header.tileDataOffset + (header.tileDataLength ?? 0));
      for (let i = 0; i < 1500; i++) {
        const x = (i * 7919) % n;
        const y = (i * 104_729 + 13) % n;
        const got = await archive.getZxy(8, x, y);
        expect(Buffer.from(got?.data ?? new ArrayBuffer(0)).toString(), `8/${x}/${y}`).toBe(bodyOf(x, y));
      }
      for (const [x, y] of [[0, 0], [63, 63], [255, 255], [64, 0], [0, 64]] as const) {
        expect(Buffer.from((await archive.getZxy(8, x, y))?.data ?? new ArrayBuffer(0)).toString()).toBe(bodyOf(x, y));
      }
    } finally {
      store.close();
    }
  });

  it('refuses an unknown version (exit 1) and another extension (exit 2)', () => {
    const unknown = cli(dir, 'export', 'parcels@4.0.0', path.join(dir, 'x.pmtiles'));
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/no version 4\.0\.0/);
    const ext = cli(dir, 'export', 'parcels', path.join(dir, 'x.zip'));
    expect(ext.status).toBe(2);
    expect(ext.stderr).toMatch(/\.mbtiles or \.pmtiles/);
  });
});
