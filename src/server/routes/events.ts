import { Router, type Request } from 'express';
import type { ChangeFeed } from '../../events/change-feed.js';
import { eventBody } from '../../events/change-feed.js';
import { SseHub, type SseHubOptions } from '../../events/sse-hub.js';
import type { ChangeEvent } from '../../store/tile-store.js';
import { HttpError } from '../http-error.js';
import type { Metrics } from '../metrics.js';

/** The most events one /changes answer holds; pollers page with `since`. */
const CHANGES_PAGE = 1000;

/** GET /events (Server-Sent Events) and GET /changes (JSON, for pollers). */
export function eventRoutes(feed: ChangeFeed, metrics?: Metrics | null, options: SseHubOptions = {}): Router {
  const router = Router();
  const hub = new SseHub(feed, options);
  metrics?.gauge('plantiles_sse_clients', 'Connected /events clients', () => hub.size);
  router.get('/changes', (req, res) => {
    const since = parseSeq(req.query.since, 'since') ?? 0;
    const events = feed.since(since, CHANGES_PAGE);
    // No event after `since`: the cursor stays, unless it is ahead of every event there is (a
    // cursor kept from a store since restored or replaced). Then it comes back to the last one,
    // so the events that follow are not skipped. The feed is read first: it may lag a second.
    if (!events.length && since > feed.last) feed.poll(true);
    const last = events.length ? (events[events.length - 1] as ChangeEvent).seq : Math.min(since, feed.last);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ events: events.map(eventBody), last });
  });
  router.get('/events', (req, res) => {
    hub.attach(req, res, lastEventId(req));
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
