import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';

/** Response headers a browser client on another origin may read. */
export const CORS_EXPOSED_HEADERS = 'ETag, X-Tile-Version, Content-Encoding, Location, X-Request-Id';

/** The CORS headers of an ordinary (non-preflight) response. */
export function setCorsHeaders(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);
}

/** Open CORS (SPEC §3.3): every origin may read; preflights are answered here. */
export const corsMiddleware: RequestHandler = (req, res, next) => {
  setCorsHeaders(res);
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-None-Match, Last-Event-ID, X-File-Name');
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
    return;
  }
  next();
};
