import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChangeEvent } from '../store/tile-store.js';
import { eventBody, type ChangeFeed } from './change-feed.js';

/** The headers of an event stream (/events and /admin/events). */
export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-store',
  Connection: 'keep-alive',
  // nginx and similar proxies must pass events through unbuffered.
  'X-Accel-Buffering': 'no',
} as const;

/** Options of the SSE hub. */
export interface SseHubOptions {
  /** Interval of the comment line that keeps idle connections (and proxies) open. Default 15 s. */
  heartbeatMs?: number;
  /** A client whose socket holds more unsent bytes than this is dropped (it reconnects with Last-Event-ID). */
  maxBufferedBytes?: number;
}

interface SseClient {
  res: ServerResponse;
  /** Highest seq this client has been sent. */
  sent: number;
}

const REPLAY_PAGE = 1000;

/**
 * The open /events streams. Each event is serialised once and written to every
 * client; one timer sends the heartbeat to all, so hundreds of idle clients cost
 * a socket each and nothing more. Clients are ended when the feed closes.
 */
export class SseHub {
  private readonly clients = new Set<SseClient>();
  private readonly heartbeatMs: number;
  private readonly maxBuffered: number;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly feed: ChangeFeed, options: SseHubOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.maxBuffered = options.maxBufferedBytes ?? 1 << 20;
    feed.subscribe((e) => this.broadcast(e), () => this.closeAll());
  }

  /** Connected clients. */
  get size(): number {
    return this.clients.size;
  }

  /** Starts a stream: replays what came after `since` (null = only new events), then follows the feed. */
  attach(req: IncomingMessage, res: ServerResponse, since: number | null): void {
    res.writeHead(200, SSE_HEADERS);
    // HEAD asks for the headers a GET would have: the stream's, then the end (no client kept).
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write('retry: 2000\n\n');
    if (this.closed) {
      res.end();
      return;
    }
    // A Last-Event-ID beyond every event there is (kept across a restored store) starts from the
    // last one, as /changes does: otherwise every event up to it would be skipped.
    if (since !== null && since > this.feed.last) this.feed.poll(true);
    const client: SseClient = { res, sent: since === null ? this.feed.last : Math.min(since, this.feed.last) };
    // A new stream starts at the last event: its id (a block with no data, which dispatches
    // nothing) becomes the browser's Last-Event-ID, so a reconnect after an outage replays
    // what was published meanwhile even when no event came before it.
    if (since === null) res.write(`id: ${client.sent}\n\n`);
    this.clients.add(client);
    req.socket.setKeepAlive(true);
    req.on('close', () => this.detach(client));
    if (since !== null) this.replay(client);
    this.heartbeat ??= setInterval(() => this.beat(), this.heartbeatMs).unref();
  }

  /** Ends every stream and refuses new ones (shutdown). */
  closeAll(): void {
    this.closed = true;
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    this.stopHeartbeat();
  }

  private replay(client: SseClient): void {
    for (;;) {
      const page = this.feed.since(client.sent, REPLAY_PAGE);
      for (const e of page) this.send(client, e, format(e));
      if (page.length < REPLAY_PAGE) return;
    }
  }

  private broadcast(e: ChangeEvent): void {
    if (!this.clients.size) return;
    const message = format(e);
    for (const c of this.clients) this.send(c, e, message);
  }

  private send(client: SseClient, e: ChangeEvent, message: string): void {
    if (e.seq <= client.sent) return;
    client.sent = e.seq;
    this.write(client, message);
  }

  private beat(): void {
    for (const c of this.clients) this.write(c, ': heartbeat\n\n');
  }

  private write(client: SseClient, text: string): void {
    if (client.res.writableLength > this.maxBuffered) {
      // A client that stopped reading: drop it rather than buffer without bound.
      client.res.destroy();
      this.detach(client);
      return;
    }
    client.res.write(text);
  }

  private detach(client: SseClient): void {
    this.clients.delete(client);
    if (!this.clients.size) this.stopHeartbeat();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

/** One SSE message: the seq as id (so Last-Event-ID resumes), event name `publish`, the event as JSON. */
export function format(e: ChangeEvent): string {
  return `id: ${e.seq}\nevent: publish\ndata: ${JSON.stringify(eventBody(e))}\n\n`;
}
