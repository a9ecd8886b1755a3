import { Router, type RequestHandler } from 'express';
import { eventBody } from '../../events/change-feed.js';
import { SSE_HEADERS } from '../../events/sse-hub.js';
import type { Job } from '../../jobs/jobs.js';
import type { ChangeEvent } from '../../store/tile-store.js';
import { handle, listingScope, type AdminDeps } from './admin-common.js';

const HEARTBEAT_MS = 15_000;

/**
 * GET /admin/events: Server-Sent Events for the admin page — `job` (a job's state or
 * progress changed) and `publish` (a new current version), for the layers the token
 * covers. Browsers' EventSource cannot send a token, so the page reads it with fetch.
 */
export function adminEventRoutes(deps: AdminDeps, token: RequestHandler): Router {
  const router = Router();
  router.get('/admin/events', token, handle((req, res) => {
    const scope = listingScope(deps, req, res);
    res.writeHead(200, SSE_HEADERS);
    // HEAD asks for a GET's headers only: no stream is kept for it.
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write('retry: 2000\n\n');
    const sendJob = (job: Job): void => {
      if (scope.layer(job.layer)) res.write(`event: job\ndata: ${JSON.stringify(job)}\n\n`);
    };
    const sendPublish = (e: ChangeEvent): void => {
      if (scope.layer(e.layer)) res.write(`id: ${e.seq}\nevent: publish\ndata: ${JSON.stringify(eventBody(e))}\n\n`);
    };
    const unsubscribeJobs = deps.jobs.subscribe(sendJob);
    const unsubscribeFeed = deps.feed.subscribe(sendPublish);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribeJobs();
      unsubscribeFeed();
    });
  }));
  return router;
}
