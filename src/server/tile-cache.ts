import { gunzipSync } from 'node:zlib';

/** A tile body ready to send: the stored gzip bytes, the plain bytes once needed, and both ETags. */
export class CachedTile {
  /** `"<hash>.gz"`: the ETag of the gzip body. */
  readonly etagGz: string;
  /** `"<hash>"`: the ETag of the plain body. */
  readonly etagPlain: string;
  /** Cleared by eviction's second-chance sweep, set by every hit. */
  used = false;
  private plainBody: Buffer | null = null;

  constructor(readonly hash: string, readonly gz: Buffer) {
    this.etagGz = `"${hash}.gz"`;
    this.etagPlain = `"${hash}"`;
  }

  /** The plain MVT bytes; inflated once, only for clients that do not accept gzip. */
  plain(): Buffer {
    return (this.plainBody ??= gunzipSync(this.gz));
  }

  /** Bytes this entry holds. */
  get size(): number {
    return this.gz.length + (this.plainBody?.length ?? 0);
  }
}

/** Bounds of a TileCache. */
export interface TileCacheOptions {
  /** Tile bodies kept, in bytes (gzip, plus plain copies made for clients without gzip). Default 64 MiB. */
  maxBytes?: number;
  /** Tile addresses (version, z, x, y) remembered, each naming a body or "empty". Default 200,000. */
  maxAddresses?: number;
}

/** What an address resolves to: a body's hash, or EMPTY for a tile the version does not have (204). */
const EMPTY = '';

/**
 * A bounded in-memory cache of hot tiles. Bodies are keyed by content hash, so a
 * tile shared by many versions (and by the current and versioned URL) is held
 * once; a second map remembers which hash an address resolved to. Versions are
 * immutable, so entries never go stale; eviction is second-chance FIFO, which
 * costs a hit no more than setting a flag.
 */
export class TileCache {
  private readonly bodies = new Map<string, CachedTile>();
  private readonly addresses = new Map<string, string>();
  private readonly maxBytes: number;
  private readonly maxAddresses: number;
  private bytes = 0;
  /** Lookups answered from memory. */
  hits = 0;
  /** Lookups that went to the store. */
  misses = 0;

  constructor(options: TileCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 64 * 2 ** 20;
    this.maxAddresses = options.maxAddresses ?? 200_000;
  }

  /** The tile at an address key: a CachedTile, null when known empty, undefined when not cached. */
  get(address: string): CachedTile | null | undefined {
    const hash = this.addresses.get(address);
    if (hash === undefined) {
      this.misses++;
      return undefined;
    }
    if (hash === EMPTY) {
      this.hits++;
      return null;
    }
    const body = this.bodies.get(hash);
    if (!body) {
      this.misses++;
      return undefined;
    }
    body.used = true;
    this.hits++;
    return body;
  }

  /** Remembers what an address holds (null = empty) and returns the entry to send. */
  set(address: string, hash: string | null, gz: Buffer | null): CachedTile | null {
    if (this.addresses.size >= this.maxAddresses) this.evictAddress();
    if (hash === null || gz === null) {
      this.addresses.set(address, EMPTY);
      return null;
    }
    this.addresses.set(address, hash);
    let body = this.bodies.get(hash);
    if (!body) {
      body = new CachedTile(hash, gz);
      this.bodies.set(hash, body);
      this.bytes += body.size;
      this.evictBodies();
    }
    return body;
  }

  /** The plain body of an entry, accounting for the bytes the inflated copy adds. */
  plainOf(entry: CachedTile): Buffer {
    const before = entry.size;
    const plain = entry.plain();
    if (entry.size !== before && this.bodies.get(entry.hash) === entry) {
      this.bytes += entry.size - before;
      this.evictBodies();
    }
    return plain;
  }

  /** Bytes of bodies held. */
  get size(): number {
    return this.bytes;
  }

  /** Number of bodies held. */
  get entries(): number {
    return this.bodies.size;
  }

  private evictAddress(): void {
    const oldest = this.addresses.keys().next();
    if (!oldest.done) this.addresses.delete(oldest.value);
  }

  private evictBodies(): void {
    // Second chance: a body hit since the last sweep moves to the back once.
    let budget = this.bodies.size * 2;
    while (this.bytes > this.maxBytes && this.bodies.size > 1 && budget-- > 0) {
      const oldest = this.bodies.entries().next();
      if (oldest.done) return;
      const [hash, body] = oldest.value;
      this.bodies.delete(hash);
      if (body.used) {
        body.used = false;
        this.bodies.set(hash, body);
      } else {
        this.bytes -= body.size;
      }
    }
  }
}
