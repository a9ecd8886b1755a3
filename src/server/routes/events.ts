import { Router, type Request } from 'express';
import { eventBody, type ChangeFeed } from '../../events/change-feed.js';
import type { ChangeEvent } from '../../store/tile-store.js';
import { HttpError } from '../http-error.js';

const HEARTBEAT_MS = 15_000;

/** GET /events (Server-Sent Events) and GET /changes (JSON, for pollers). */
export function eventRoutes(feed: ChangeFeed): Router {
  const router = Router();
  router.get('/changes', (req, res) => {
    const since = parseSeq(req.query.since, 'since') ?? 0;
    const events = feed.since(since);
    const last = events.length ? (events[events.length - 1] as ChangeEvent).seq : Math.max(since, feed.last);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ events: events.map(eventBody), last });
  });
  router.get('/events', (req, res) => {
    const since = lastEventId(req);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    let sent = since ?? feed.last;
    const send = (e: ChangeEvent): void => {
      if (e.seq <= sent) return;
      sent = e.seq;
      res.write(`id: ${e.seq}\nevent: publish\ndata: ${JSON.stringify(eventBody(e))}\n\n`);
    };
    const unsubscribe = feed.subscribe(send);
    if (since !== null) for (const e of feed.since(since)) send(e);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });
  return router;
}

function lastEventId(req: Request): number | null {
  const header = req.get('last-event-id');
  if (header !== undefined && header !== '') return parseSeq(header, 'Last-Event-ID');
  return parseSeq(req.query.lastEventId, 'lastEventId');
}

function parseSeq(value: unknown, name: string): number | null {
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) throw new HttpError(400, `${name} must be a non-negative integer`);
  return Number(value);
}
