import type { GeoJSONVTFeature } from '@maplibre/geojson-vt';
import { encodePlain } from './encode-tile.js';
import { LayerWriter, tagValue } from './layer-writer.js';
import { LentFeature, PreviousLayer } from './previous-layer.js';

/** A lone surrogate: its UTF-8 is U+FFFD's, so two such texts could share bytes. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Encodes the tiles of an incremental republish as vt-pbf would, byte for byte, taking
 * each unchanged feature as it is encoded in the previous version's tile. vt-pbf has no
 * way to take encoded features, so this writes the layer around them: their id, type and
 * geometry bytes as vt-pbf wrote them (a feature's commands start from 0,0, so they do
 * not depend on the features before it), their tags re-indexed, since vt-pbf numbers
 * keys and values by first use in the tile. The other features (cut again) are finalized
 * and their geometry encoded by vt-pbf; their attributes are matched to the previous
 * layer's keys and values by text and by Value bytes, which for vt-pbf's value types
 * and well-formed text is the same as vt-pbf's own matching by type and text (a list may
 * hold features lent by several previous layers, a tile's and its sample's: it is spliced
 * into the one lending most of it, and the others' are taken as cut again). What
 * it cannot splice exactly (ids vt-pbf writes otherwise, lone surrogates, a previous
 * layer whose text holds U+FFFD) and lists that are mostly fresh are encoded by vt-pbf
 * whole. A test compares its output with vt-pbf's.
 */
export class TileSplicer {
  private readonly freshGeometry = new WeakMap<object, Uint8Array>();
  private readonly name: Uint8Array;

  /** `finalize` gives a feature its MVT id and attributes (lent features too, for what is left to vt-pbf). */
  constructor(private readonly layerName: string, private readonly finalize: (f: GeoJSONVTFeature) => GeoJSONVTFeature) {
    this.name = Buffer.from(layerName, 'utf8');
  }

  /** The plain MVT bytes of one layer of `features` (LentFeatures among them): vt-pbf's bytes for them, finalized. */
  encode(features: readonly GeoJSONVTFeature[]): Uint8Array {
    const layer = mostLending(features);
    const refs = new Int32Array(features.length);
    const fresh: GeoJSONVTFeature[] = [];
    features.forEach((f, k) => {
      if (f instanceof LentFeature && f.layer === layer) refs[k] = f.ref;
      else {
        refs[k] = -1;
        fresh.push(this.finalize(f));
      }
    });
    // Matching a fresh feature's attributes to the previous layer costs more than vt-pbf's
    // own encoding of it: a list of mostly fresh features (a sample of a thinned tile) goes to vt-pbf.
    const worthIt = fresh.length * 2 <= features.length;
    if (!worthIt || !layer?.spliceable || !fresh.every(splicesExactly)) return encodePlain(this.layerName, features.map((f) => this.finalize(f)));
    this.encodeGeometry(fresh);
    return new LayerWriter(this.name, layer).write(refs, fresh, (f) => this.freshGeometry.get(f.geometry) as Uint8Array);
  }

  /** Encodes with vt-pbf, in one tile, the geometry of fresh features not encoded before. */
  private encodeGeometry(fresh: readonly GeoJSONVTFeature[]): void {
    const missing = fresh.filter((f) => !this.freshGeometry.has(f.geometry));
    if (!missing.length) return;
    // Ids are positions in `missing`, so each feature's bytes are found by id.
    const layer = new PreviousLayer(encodePlain(this.layerName, missing.map((f, k) => ({ id: k, type: f.type, geometry: f.geometry, tags: null }) as GeoJSONVTFeature)), this.layerName);
    // Written in order, with ids 0, 1, …: feature k of the layer is missing[k].
    missing.forEach((f, k) => this.freshGeometry.set(f.geometry, layer.plain.subarray(layer.geometryStart[k], layer.geometryEnd[k])));
  }
}

/** The previous layer lending the most of `features` (of equals, the first to get there), or null when none lends. */
function mostLending(features: readonly GeoJSONVTFeature[]): PreviousLayer | null {
  const layers: PreviousLayer[] = [];
  const counts: number[] = [];
  let best = -1;
  let last = -1;
  for (const f of features) {
    if (!(f instanceof LentFeature)) continue;
    // A list has one or two lenders, mostly in runs: the last one, else a linear search, finds them.
    if (layers[last] !== f.layer) {
      last = layers.indexOf(f.layer);
      if (last < 0) last = layers.push(f.layer) - 1;
    }
    counts[last] = (counts[last] ?? 0) + 1;
    if (best < 0 || (counts[last] as number) > (counts[best] as number)) best = last;
  }
  return layers[best] ?? null;
}

/** Whether vt-pbf's bytes for a finalized feature can be written here: a plain id, well-formed attribute text. */
function splicesExactly(f: GeoJSONVTFeature): boolean {
  if ('id' in f && f.id !== undefined && !(typeof f.id === 'number' && Number.isSafeInteger(f.id) && f.id >= 0)) return false;
  for (const key in f.tags ?? {}) {
    const value = tagValue(f.tags?.[key]);
    if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) return false;
  }
  return true;
}
