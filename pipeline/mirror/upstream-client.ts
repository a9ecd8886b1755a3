import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { MirrorError } from './mirror-error.js';

/** Options of an upstream client. */
export interface UpstreamClientOptions {
  /** Keep-alive connections used for tiles at most at once. */
  concurrency: number;
  /** Idle time after which a request is given up, ms (default 30 s). */
  timeoutMs?: number;
}

/** Per-request options. */
export interface RequestOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Idle timeout of this request, ms. */
  timeoutMs?: number;
  /** A connection of its own, outside the keep-alive pool (the long-lived event stream). */
  dedicated?: boolean;
}

/** A response read to its end. */
export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * HTTP to one upstream plantiles node over keep-alive connections. Bodies are
 * not decoded (a gzip tile stays the stored gzip bytes), and every byte read from
 * its sockets is counted, so a sync reports what it really transferred.
 */
export class UpstreamClient {
  /** The upstream's base URL without a trailing slash, and without credentials: safe to log and show. */
  readonly baseUrl: string;
  /** The base URL requests go to (it may carry user:password for basic auth). */
  private readonly requestBase: string;
  private readonly agent: http.Agent;
  private readonly secure: boolean;
  private readonly live = new Set<Socket>();
  private closedBytes = 0;

  constructor(baseUrl: string, private readonly options: UpstreamClientOptions) {
    this.requestBase = baseUrl.replace(/\/+$/, '');
    this.baseUrl = displayUrl(this.requestBase);
    this.secure = this.requestBase.startsWith('https:');
    const agentOptions = { keepAlive: true, maxSockets: options.concurrency };
    this.agent = this.secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** Sends a GET; resolves with the response stream once headers arrived. */
  open(path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const url = new URL(this.requestBase + path);
    const send = this.secure ? https.request : http.request;
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = send(url, {
        method: 'GET',
        headers: opts.headers,
        agent: opts.dedicated ? false : this.agent,
        signal: opts.signal,
      });
      req.on('socket', (socket) => this.track(socket));
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('response', (res) => {
        res.on('error', () => undefined);
        resolve(res);
      });
      req.on('error', (err) => reject(this.networkError(path, err)));
      req.end();
    });
  }

  /** Sends a GET and reads the whole body. */
  async get(path: string, opts: RequestOptions = {}): Promise<UpstreamResponse> {
    const res = await this.open(path, opts);
    return { status: res.statusCode ?? 0, headers: res.headers, body: await this.readBody(path, res) };
  }

  /** GETs JSON; a status other than 200 or a body that is not JSON is a MirrorError. */
  async getJson(path: string, opts: RequestOptions = {}): Promise<unknown> {
    const res = await this.get(path, { ...opts, headers: { accept: 'application/json', ...opts.headers } });
    if (res.status !== 200) throw new MirrorError('bad-response', { upstream: this.baseUrl }, `GET ${path} answered ${res.status}`);
    try {
      return JSON.parse(res.body.toString('utf8')) as unknown;
    } catch {
      throw new MirrorError('bad-response', { upstream: this.baseUrl }, `GET ${path} did not answer JSON`);
    }
  }

  /** Reads a response to its end; a connection lost mid-body is `unreachable`. */
  async readBody(path: string, res: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
    } catch (err) {
      throw this.networkError(path, err);
    }
    if (!res.complete) throw this.networkError(path, new Error('connection closed mid-body'));
    return Buffer.concat(chunks);
  }

  /** Bytes read from the upstream's sockets so far (headers and bodies, as on the wire). */
  bytesReceived(): number {
    let open = 0;
    for (const s of this.live) open += s.bytesRead;
    return this.closedBytes + open;
  }

  /** Closes the idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** Wraps a network failure as a transient MirrorError naming the request. */
  networkError(path: string, err: unknown): Error {
    if (err instanceof MirrorError) return err;
    if (err instanceof Error && err.name === 'AbortError') return err;
    const message = err instanceof Error ? err.message : String(err);
    return new MirrorError('unreachable', { upstream: this.baseUrl }, `GET ${path}: ${message}`);
  }

  private track(socket: Socket): void {
    if (this.live.has(socket)) return;
    this.live.add(socket);
    socket.once('close', () => {
      this.closedBytes += socket.bytesRead;
      this.live.delete(socket);
    });
  }
}

/** A URL without user:password, for logs and status pages. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return url;
  }
}
