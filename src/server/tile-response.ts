import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CachedTile, TileCache } from './tile-cache.js';

/** Cache-Control of a versioned URL: its bytes never change. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Content-Type of every tile. */
export const MVT_TYPE = 'application/vnd.mapbox-vector-tile';

/**
 * Writes a tile response (SPEC §3.3): 204 when empty; else the stored gzip body
 * to clients that accept gzip and the plain body to the rest, a strong ETag per
 * encoding, Vary, and 304 on a matching If-None-Match. Returns the body bytes sent (0 for HEAD).
 * `headers` (name, value, name, value …) go first and are appended to. The status
 * and every header go out in one writeHead, so on the fast path (where nothing was
 * set before) node builds the header block straight from this array, and header and
 * body leave in one write: setHeader would build a lower-cased map entry per header
 * first. Uses only node's response API, so the fast path and the Express route share it.
 */
export function writeTile(
  req: IncomingMessage, res: ServerResponse, tile: CachedTile | null, cacheControl: string, version: string, cache: TileCache,
  headers: (string | number)[] = [],
): number {
  // Vary on every answer, a 204 too: a cache must not serve one encoding's entry for the other.
  headers.push('Cache-Control', cacheControl, 'X-Tile-Version', version, 'Vary', 'Accept-Encoding');
  if (!tile) {
    res.writeHead(204, headers);
    res.end();
    return 0;
  }
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const etag = gzip ? tile.etagGz : tile.etagPlain;
  headers.push('ETag', etag);
  const inm = req.headers['if-none-match'];
  if (inm !== undefined && matchesEtag(inm, etag)) {
    res.writeHead(304, headers);
    res.end();
    return 0;
  }
  const body = gzip ? tile.gz : cache.plainOf(tile);
  headers.push('Content-Type', MVT_TYPE);
  if (gzip) headers.push('Content-Encoding', 'gzip');
  headers.push('Content-Length', body.length);
  res.writeHead(200, headers);
  // HEAD sends no body: no tile served, no bytes.
  if (req.method === 'HEAD') {
    res.end();
    return 0;
  }
  res.end(body);
  return body.length;
}

/** True when Accept-Encoding admits gzip (an explicit q=0 refuses it). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  // The common case, "gzip, deflate, br" and friends, without splitting.
  if (header.indexOf(';') < 0 && header.indexOf('*') < 0) return /(^|[\s,])(x-)?gzip($|[\s,])/i.test(header);
  let star: boolean | undefined;
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((s) => s.trim()).find((s) => s.startsWith('q='));
    const ok = q === undefined || Number(q.slice(2)) > 0;
    if (name === 'gzip' || name === 'x-gzip') return ok;
    if (name === '*') star = ok;
  }
  return star ?? false;
}

/** If-None-Match: any listed tag (weak or strong) equal to ours, or "*". */
export function matchesEtag(header: string, etag: string): boolean {
  if (header === etag) return true;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}
