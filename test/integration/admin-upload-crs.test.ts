import path from 'node:path';
import type { FeatureCollection, Polygon } from 'geojson';
import proj4 from 'proj4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tileForLonLat } from '../../src/domain/tile-coord.js';
import type { Job } from '../../src/jobs/jobs.js';
import { makeParcels, writeGeojson } from '../helpers/fixtures.js';
import { decodeTile } from '../helpers/mvt.js';
import { adminConfig, bearer, publishViaApi, startAdminNode, TOKENS, waitForJob, type AdminNode } from '../helpers/admin-node.js';
import { makeTempDir, removeDir, writeConfig } from '../helpers/test-node.js';
import { GK117 } from '../fixtures/ingest/sources.js';

/** The parcels in EPSG:4548 (Gauss–Krüger metres), as a GeoJSON that states no CRS. */
function gkParcels(fc: FeatureCollection<Polygon>): FeatureCollection<Polygon> {
  const toGk = proj4('+proj=longlat +ellps=GRS80 +no_defs', GK117);
  return {
    ...fc,
    features: fc.features.map((f) => ({
      ...f,
      geometry: { type: 'Polygon', coordinates: f.geometry.coordinates.map((ring) => ring.map((p) => toGk.forward([p[0] as number, p[1] as number]))) },
    })),
  };
}

/**
 * A layer configured with `crs: EPSG:4548` reads its GeoJSON (no crs member) as
 * Gauss–Krüger metres. An upload that states no CRS either is read the same way; one
 * whose crs member names CRS84 is read as longitude/latitude: the file's own wins.
 */
describe('the CRS of an uploaded GeoJSON', () => {
  let dir: string;
  let node: AdminNode;
  const t = tileForLonLat(115.955, 36.435, 13);

  const uploadJob = async (body: string): Promise<Job> => {
    const res = await fetch(`${node.url}/admin/layers/parcels/source`, {
      method: 'PUT', body, headers: { ...bearer(TOKENS.city), 'content-type': 'application/geo+json' },
    });
    expect(res.status, await res.clone().text()).toBe(202);
    return waitForJob(node.url, ((await res.json()) as Job).id);
  };
  const namesInTile = async (): Promise<{ version: string | null; names: unknown[] }> => {
    const res = await fetch(`${node.url}/tiles/parcels/13/${t.x}/${t.y}.mvt`, { headers: { 'accept-encoding': 'identity' } });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    return { version: res.headers.get('x-tile-version'), names: decodeTile(bytes).parcels?.features.map((f) => f.properties.DLMC) ?? [] };
  };
  const renamed = (name: string): FeatureCollection<Polygon> => {
    const fc = makeParcels();
    const p = fc.features[0]?.properties;
    if (p) p.DLMC = name;
    return fc;
  };

  beforeAll(async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'parcels.gk.geojson'), gkParcels(makeParcels()));
    const config = adminConfig();
    const layers = (config.layers as Record<string, unknown>[]).map((l) => ({ ...l, source: 'parcels.gk.geojson', crs: 'EPSG:4548' }));
    node = await startAdminNode(writeConfig(dir, { ...config, layers }));
    expect(await publishViaApi(node.url, 'parcels')).toMatchObject({ state: 'succeeded', version: '1.0.0' });
    expect((await namesInTile()).names).toContain('水田');
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  it('reads an upload without a crs member in the layer\'s configured crs', async () => {
    const job = await uploadJob(JSON.stringify(gkParcels(renamed('水田（高斯投影上传）'))));
    expect(job, job.error ?? '').toMatchObject({ state: 'succeeded', version: '1.1.0' });
    const tile = await namesInTile();
    expect(tile.version).toBe('1.1.0');
    expect(tile.names).toContain('水田（高斯投影上传）');
  });

  it('reads an upload whose crs member names CRS84 as longitude/latitude', async () => {
    const fc = { ...renamed('水田（经纬度上传）'), crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:OGC:1.3:CRS84' } } };
    const job = await uploadJob(JSON.stringify(fc));
    expect(job, job.error ?? '').toMatchObject({ state: 'succeeded', version: '1.2.0' });
    const tile = await namesInTile();
    expect(tile.version).toBe('1.2.0');
    expect(tile.names).toContain('水田（经纬度上传）');
  });
});
