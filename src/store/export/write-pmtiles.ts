import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { LayerRecord, TileStore, VersionRecord } from '../tile-store.js';
import { exportMetadata } from './export-metadata.js';
import {
  buildDirectories, Compression, HEADER_LENGTH, serializeHeader, TILE_TYPE_MVT, zxyToTileId, type DirEntry,
} from './pmtiles-format.js';

/** Where a distinct body sits: in the scratch file (z/x/y order), and later in the clustered data section. */
interface Body {
  scratchOffset: number;
  length: number;
  dataOffset: number;
}

/** Totals of a PMTiles export. */
export interface PmtilesSummary {
  tiles: number;
  entries: number;
  contents: number;
  leafBytes: number;
}

/**
 * Writes one version as PMTiles v3: gzip tiles and gzip directories, tile data
 * clustered in tile-id order, identical bodies stored once, consecutive tiles
 * with the same body as one run, leaf directories when the root would not fit.
 * Bodies stream through `scratch` and `data` files; only (tile id, hash) pairs
 * are held in memory.
 */
export function writePmtiles(store: TileStore, layer: LayerRecord, version: VersionRecord, file: string, scratch: string, data: string): PmtilesSummary {
  const bodies = new Map<string, Body>();
  const refs = collectBodies(store, version.vid, scratch, bodies);
  refs.sort((a, b) => a.tileId - b.tileId);
  const { entries, dataLength } = clusterData(refs, bodies, scratch, data);
  const { root, leaves } = buildDirectories(entries, (b) => gzipSync(b));
  const metadata = gzipSync(Buffer.from(JSON.stringify(exportMetadata(layer, version))));
  const m = version.meta;
  const header = serializeHeader({
    rootOffset: HEADER_LENGTH, rootLength: root.length,
    metadataOffset: HEADER_LENGTH + root.length, metadataLength: metadata.length,
    leafOffset: HEADER_LENGTH + root.length + metadata.length, leafLength: leaves.length,
    dataOffset: HEADER_LENGTH + root.length + metadata.length + leaves.length, dataLength,
    addressedTiles: refs.length, tileEntries: entries.length, tileContents: bodies.size, clustered: true,
    internalCompression: Compression.gzip, tileCompression: Compression.gzip, tileType: TILE_TYPE_MVT,
    minZoom: m.minzoom, maxZoom: m.maxzoom, bounds: m.bounds, centerZoom: m.center[2], center: [m.center[0], m.center[1]],
  });
  const out = openSync(file, 'w');
  try {
    for (const part of [header, root, metadata, leaves]) writeSync(out, part);
    copyFile(data, out, dataLength);
  } finally {
    closeSync(out);
  }
  return { tiles: refs.length, entries: entries.length, contents: bodies.size, leafBytes: leaves.length };
}

/** Pass 1: every tile's id and hash; each distinct body appended once to the scratch file. */
function collectBodies(store: TileStore, vid: number, scratch: string, bodies: Map<string, Body>): { tileId: number; hash: string }[] {
  const refs: { tileId: number; hash: string }[] = [];
  const fd = openSync(scratch, 'w');
  try {
    let offset = 0;
    for (const t of store.iterateTiles(vid)) {
      refs.push({ tileId: zxyToTileId(t.z, t.x, t.y), hash: t.hash });
      if (bodies.has(t.hash)) continue;
      writeSync(fd, t.gz);
      bodies.set(t.hash, { scratchOffset: offset, length: t.gz.length, dataOffset: -1 });
      offset += t.gz.length;
    }
  } finally {
    closeSync(fd);
  }
  return refs;
}

/** Pass 2: bodies copied to the data file in tile-id order of first use; directory entries with runs merged. */
function clusterData(refs: readonly { tileId: number; hash: string }[], bodies: Map<string, Body>, scratch: string, data: string): { entries: DirEntry[]; dataLength: number } {
  const entries: DirEntry[] = [];
  const src = openSync(scratch, 'r');
  const dst = openSync(data, 'w');
  let dataLength = 0;
  try {
    let last: DirEntry | undefined;
    let lastHash = '';
    for (const ref of refs) {
      const body = bodies.get(ref.hash) as Body;
      if (last && ref.hash === lastHash && ref.tileId === last.tileId + last.runLength) {
        last.runLength++;
        continue;
      }
      if (body.dataOffset < 0) {
        const bytes = Buffer.alloc(body.length);
        readSync(src, bytes, 0, body.length, body.scratchOffset);
        writeSync(dst, bytes);
        body.dataOffset = dataLength;
        dataLength += body.length;
      }
      last = { tileId: ref.tileId, offset: body.dataOffset, length: body.length, runLength: 1 };
      lastHash = ref.hash;
      entries.push(last);
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
  return { entries, dataLength };
}

function copyFile(from: string, to: number, length: number): void {
  const fd = openSync(from, 'r');
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (let done = 0; done < length;) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, length - done), done);
      if (n <= 0) break;
      writeSync(to, chunk, 0, n);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}
