/**
 * The PMTiles v3 binary format (github.com/protomaps/PMTiles, spec/v3/spec.md):
 * Hilbert tile ids, varint directories, the 127-byte header.
 */

/** Length of the fixed header. */
export const HEADER_LENGTH = 127;
/** The header and the root directory must fit in the first 16 KiB, so one read gets both. */
export const ROOT_LIMIT = 16_384 - HEADER_LENGTH;

/** Compression codes of the header. */
export const Compression = { none: 1, gzip: 2 } as const;
/** Tile type code of Mapbox Vector Tiles. */
export const TILE_TYPE_MVT = 1;

/** One directory entry: a run of `runLength` tiles from `tileId` sharing a body, or (runLength 0) a leaf directory. */
export interface DirEntry {
  tileId: number;
  offset: number;
  length: number;
  runLength: number;
}

/** The header's fields. */
export interface PmtilesHeader {
  rootOffset: number; rootLength: number;
  metadataOffset: number; metadataLength: number;
  leafOffset: number; leafLength: number;
  dataOffset: number; dataLength: number;
  addressedTiles: number; tileEntries: number; tileContents: number;
  clustered: boolean;
  internalCompression: number; tileCompression: number; tileType: number;
  minZoom: number; maxZoom: number;
  /** [west, south, east, north] in degrees. */
  bounds: [number, number, number, number];
  centerZoom: number;
  /** [lon, lat] in degrees. */
  center: [number, number];
}

/**
 * The tile id: tiles of all lower zooms come first, then the tile's position on
 * the Hilbert curve of its zoom. Exact up to zoom 26 (ids stay below 2^53).
 */
export function zxyToTileId(z: number, x: number, y: number): number {
  if (z > 26) throw new RangeError(`PMTiles tile ids are exact up to zoom 26, not ${z}`);
  const n = 2 ** z;
  if (x >= n || y >= n || x < 0 || y < 0) throw new RangeError(`tile ${z}/${x}/${y} is outside zoom ${z}`);
  let acc = (n * n - 1) / 3;
  let px = x;
  let py = y;
  for (let s = n / 2; s >= 1; s /= 2) {
    const rx = (px & s) > 0 ? 1 : 0;
    const ry = (py & s) > 0 ? 1 : 0;
    acc += s * s * ((3 * rx) ^ ry);
    if (ry === 0) {
      if (rx === 1) {
        px = s - 1 - (px % s);
        py = s - 1 - (py % s);
      }
      const t = px;
      px = py;
      py = t;
    }
  }
  return acc;
}

/** Appends an unsigned LEB128 varint; arithmetic rather than bit operations, so values up to 2^53 survive. */
export function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** A directory's bytes (before compression): count, id deltas, run lengths, lengths, offsets (0 = right after the previous). */
export function serializeDirectory(entries: readonly DirEntry[]): Buffer {
  const out: number[] = [];
  writeVarint(out, entries.length);
  let last = 0;
  for (const e of entries) {
    writeVarint(out, e.tileId - last);
    last = e.tileId;
  }
  for (const e of entries) writeVarint(out, e.runLength);
  for (const e of entries) writeVarint(out, e.length);
  entries.forEach((e, i) => {
    const prev = i > 0 ? entries[i - 1] : undefined;
    writeVarint(out, prev && e.offset === prev.offset + prev.length ? 0 : e.offset + 1);
  });
  return Buffer.from(out);
}

/**
 * The root directory and the leaf directories. All entries go in the root when
 * it fits in ROOT_LIMIT compressed; else they are split into leaves of a growing
 * size until the root (one entry per leaf) fits.
 */
export function buildDirectories(entries: readonly DirEntry[], compress: (b: Buffer) => Buffer): { root: Buffer; leaves: Buffer } {
  const whole = compress(serializeDirectory(entries));
  if (whole.length <= ROOT_LIMIT) return { root: whole, leaves: Buffer.alloc(0) };
  for (let leafSize = 4096; ; leafSize = Math.ceil(leafSize * 1.2)) {
    const rootEntries: DirEntry[] = [];
    const leaves: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < entries.length; i += leafSize) {
      const leaf = compress(serializeDirectory(entries.slice(i, i + leafSize)));
      rootEntries.push({ tileId: (entries[i] as DirEntry).tileId, offset, length: leaf.length, runLength: 0 });
      leaves.push(leaf);
      offset += leaf.length;
    }
    const root = compress(serializeDirectory(rootEntries));
    if (root.length <= ROOT_LIMIT) return { root, leaves: Buffer.concat(leaves) };
  }
}

/** The 127-byte header. */
export function serializeHeader(h: PmtilesHeader): Buffer {
  const b = Buffer.alloc(HEADER_LENGTH);
  b.write('PMTiles', 0, 'latin1');
  b.writeUInt8(3, 7);
  const u64 = [h.rootOffset, h.rootLength, h.metadataOffset, h.metadataLength, h.leafOffset, h.leafLength, h.dataOffset, h.dataLength,
    h.addressedTiles, h.tileEntries, h.tileContents];
  u64.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 8 + i * 8));
  b.writeUInt8(h.clustered ? 1 : 0, 96);
  b.writeUInt8(h.internalCompression, 97);
  b.writeUInt8(h.tileCompression, 98);
  b.writeUInt8(h.tileType, 99);
  b.writeUInt8(h.minZoom, 100);
  b.writeUInt8(h.maxZoom, 101);
  const e7 = (deg: number): number => Math.round(deg * 1e7);
  b.writeInt32LE(e7(h.bounds[0]), 102);
  b.writeInt32LE(e7(h.bounds[1]), 106);
  b.writeInt32LE(e7(h.bounds[2]), 110);
  b.writeInt32LE(e7(h.bounds[3]), 114);
  b.writeUInt8(h.centerZoom, 118);
  b.writeInt32LE(e7(h.center[0]), 119);
  b.writeInt32LE(e7(h.center[1]), 123);
  return b;
}
