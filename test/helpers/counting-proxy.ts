import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/** One request the proxy saw. */
export interface ProxyRecord {
  path: string;
  status: number;
  /** Body bytes sent to the client. */
  bytes: number;
  /** True once the whole response went out. */
  completed: boolean;
}

const TILE_PATH = /^\/tiles\/[^/]+@[^/]+\/\d+\/\d+\/\d+\.(mvt|pbf)$/;

/**
 * A small HTTP proxy put in front of an upstream node in tests: it counts what a
 * mirror asks for, and can misbehave on purpose — refuse /events, corrupt tiles,
 * or hold tile requests so a test can kill the upstream mid-transfer.
 */
export class CountingProxy {
  readonly records: ProxyRecord[] = [];
  url = '';
  /** Answer /events with 404, as an upstream (or a proxy) without Server-Sent Events would. */
  blockEvents = false;
  /** Answer /events with this status (and an HTML body, as nginx does while its upstream restarts); null passes it through. */
  eventsStatus: number | null = null;
  /** Replace the body of the nth (1-based) request of a tile path with other, valid gzip bytes. */
  corrupt: ((path: string, nth: number) => boolean) | null = null;
  /** Rewrites JSON bodies (e.g. to skew the upstream's timestamps); null passes them through. */
  rewriteJson: ((path: string, body: unknown) => unknown) | null = null;
  /** Forward this many tile requests, then hold the rest until dropHeld(). */
  holdAfterTiles: number | null = null;
  private readonly held: ServerResponse[] = [];
  private readonly seen = new Map<string, number>();
  private tilesForwarded = 0;
  private readonly agent = new http.Agent({ keepAlive: true });

  private constructor(private server: Server, public target: string) {}

  /** Starts a proxy to `target` on an ephemeral loopback port. */
  static async start(target: string): Promise<CountingProxy> {
    const proxy = new CountingProxy(http.createServer(), target);
    proxy.server.on('request', (req, res) => proxy.handle(req, res));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** Tile requests (of versioned tiles) seen so far. */
  tileRequests(): ProxyRecord[] {
    return this.records.filter((r) => TILE_PATH.test(r.path));
  }

  /** How many tile requests are being held. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Cuts the held requests' connections, as a dying upstream would. */
  dropHeld(): void {
    for (const res of this.held.splice(0)) res.socket?.destroy();
  }

  /** Forgets what was counted. */
  reset(): void {
    this.records.length = 0;
    this.seen.clear();
    this.tilesForwarded = 0;
  }

  async close(): Promise<void> {
    this.dropHeld();
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    const record: ProxyRecord = { path, status: 0, bytes: 0, completed: false };
    this.records.push(record);
    res.on('finish', () => { record.completed = true; });
    if (this.eventsStatus !== null && path.startsWith('/events')) {
      record.status = this.eventsStatus;
      res.writeHead(this.eventsStatus, { 'content-type': 'text/html' }).end('<html><body>Bad Gateway</body></html>');
      return;
    }
    if (this.blockEvents && path.startsWith('/events')) {
      record.status = 404;
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not here"}');
      return;
    }
    if (TILE_PATH.test(path)) {
      if (this.holdAfterTiles !== null && this.tilesForwarded >= this.holdAfterTiles) {
        this.held.push(res);
        return;
      }
      this.tilesForwarded++;
    }
    const nth = (this.seen.get(path) ?? 0) + 1;
    this.seen.set(path, nth);
    this.forward(req, res, record, this.corrupt?.(path, nth) ?? false);
  }

  /** Sends a replaced body with the upstream's status and headers. */
  private static replaceBody(res: ServerResponse, upRes: IncomingMessage, record: ProxyRecord, body: Buffer): void {
    res.writeHead(record.status, { ...upRes.headers, 'content-length': String(body.length) });
    record.bytes = body.length;
    res.end(body);
  }

  private forward(req: IncomingMessage, res: ServerResponse, record: ProxyRecord, corrupt: boolean): void {
    const headers = { ...req.headers };
    delete headers.host;
    const up = http.request(this.target + (req.url ?? '/'), { method: req.method, headers, agent: this.agent }, (upRes) => {
      record.status = upRes.statusCode ?? 0;
      if (corrupt) {
        upRes.resume();
        CountingProxy.replaceBody(res, upRes, record, gzipSync(Buffer.from('not the tile you are looking for')));
        return;
      }
      const rewrite = this.rewriteJson;
      if (rewrite && String(upRes.headers['content-type']).startsWith('application/json')) {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = rewrite(req.url ?? '/', JSON.parse(Buffer.concat(chunks).toString('utf8')));
          CountingProxy.replaceBody(res, upRes, record, Buffer.from(JSON.stringify(body)));
        });
        return;
      }
      res.writeHead(record.status, upRes.headers);
      upRes.on('data', (c: Buffer) => { record.bytes += c.length; });
      upRes.pipe(res);
      upRes.on('error', () => res.socket?.destroy());
      upRes.on('aborted', () => res.socket?.destroy());
    });
    // The upstream is down or died: the client sees its connection cut, as it would without the proxy.
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  }
}
