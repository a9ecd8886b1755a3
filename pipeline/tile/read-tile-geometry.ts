import { gunzipSync } from 'node:zlib';
import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { PbfReader } from 'pbf';

type Point = [number, number];

/**
 * The geometry of each feature of one layer of a tile this pipeline encoded, by MVT id,
 * in the form tiling hands to the encoder (geojson-vt tile features, integer tile
 * coordinates, polygon rings closed). Encoding a feature read back gives the same
 * bytes, so an incremental republish can take an unchanged feature's geometry from the
 * previous version's tile instead of cutting it again. Features without an id are left out.
 */
export function readTileGeometry(gz: Uint8Array, layerName: string): Map<number, GeoJSONVTFeature> {
  const pbf = new PbfReader(gunzipSync(gz));
  const out = new Map<number, GeoJSONVTFeature>();
  pbf.readFields((tag) => {
    if (tag !== 3) return;
    const end = pbf.readVarint() + pbf.pos;
    const layer = { name: '', features: [] as number[] };
    pbf.readFields((ltag) => {
      if (ltag === 1) layer.name = pbf.readString();
      else if (ltag === 2) {
        layer.features.push(pbf.pos);
        pbf.skip(2);
      } else pbf.skip(pbf.type);
    }, layer, end);
    if (layer.name !== layerName) return;
    for (const start of layer.features) {
      pbf.pos = start;
      const fend = pbf.readVarint() + pbf.pos;
      const f = { id: undefined as number | undefined, type: 0, geometry: [] as Point[][] };
      pbf.readFields((ftag) => {
        if (ftag === 1) f.id = pbf.readVarint();
        else if (ftag === 3) f.type = pbf.readVarint();
        else if (ftag === 4) f.geometry = readGeometry(pbf);
        else pbf.skip(pbf.type);
      }, f, fend);
      if (f.id === undefined || f.type < 1 || f.type > 3) continue;
      out.set(f.id, f.type === 1
        ? { type: 1, geometry: f.geometry.map((r) => r[0] as Point), id: f.id, tags: null }
        : { type: f.type as 2 | 3, geometry: f.geometry, id: f.id, tags: null });
    }
    pbf.pos = end;
  }, {});
  return out;
}

/** Command-encoded geometry (a length-prefixed geometry field) as rings of absolute points; ClosePath repeats a ring's first point. */
function readGeometry(pbf: PbfReader): Point[][] {
  return decodeGeometry(pbf, pbf.readVarint() + pbf.pos);
}

/** The commands from pbf.pos to `end` as rings of absolute points; ClosePath repeats a ring's first point. */
export function decodeGeometry(pbf: PbfReader, end: number): Point[][] {
  const rings: Point[][] = [];
  let ring: Point[] | null = null;
  let x = 0;
  let y = 0;
  let cmd = 0;
  let length = 0;
  while (pbf.pos < end) {
    if (length <= 0) {
      const c = pbf.readVarint();
      cmd = c & 7;
      length = c >> 3;
      if (length <= 0) continue;
    }
    length--;
    if (cmd === 1 || cmd === 2) {
      x += pbf.readSVarint();
      y += pbf.readSVarint();
      if (cmd === 1 || !ring) {
        ring = [];
        rings.push(ring);
      }
      ring.push([x, y]);
    } else if (cmd === 7) {
      const first = ring?.[0];
      if (ring && first) ring.push([first[0], first[1]]);
    }
  }
  return rings;
}
