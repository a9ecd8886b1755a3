import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { directAccessLine, type AccessLine } from './access-line.js';

/** A well-formed request id a proxy may pass in X-Request-Id. */
const INCOMING_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Structured access logs: a request id when the request arrives, one JSON line when its response is done. */
export interface RequestLog {
  /** The request's id: X-Request-Id when a proxy set a sane one, else this process's next. The caller echoes it in the response. */
  idOf(req: IncomingMessage): string;
  /** Writes the request's line: id, method, URL, client address, status and the milliseconds taken. */
  finish(req: IncomingMessage, res: ServerResponse, id: string, ms: number): void;
}

/**
 * One JSON line per finished request, in pino-http's shape (`req`, `res`, `responseTime`,
 * "request completed"), at info, warn for 4xx and error for 5xx; `aborted` when the client
 * left before the response was sent. The line is built from named fields only, so no
 * header (Authorization, Cookie) can reach it. Built by hand rather than by pino-http,
 * which makes a child logger and three listeners per request: on the tile fast path
 * that cost more than serving the tile. Where the logger formats lines as plain pino
 * does, the line is even written without pino's generic serialiser (access-line.ts).
 */
export function createRequestLog(logger: Logger): RequestLog {
  const boot = randomBytes(3).toString('hex');
  let next = 0;
  const direct = directAccessLine(logger);
  return {
    idOf(req) {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : `${boot}-${(next++).toString(36)}`;
    },
    finish(req, res, id, ms) {
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const line: AccessLine = {
        id, method: req.method, url: req.url, remoteAddress: req.socket.remoteAddress, statusCode: status,
        responseTime: Math.round(ms * 100) / 100, aborted: !res.writableFinished,
        msg: status >= 500 ? 'request errored' : 'request completed',
      };
      if (direct) direct(level, line);
      else logger[level](accessObject(line), line.msg);
    },
  };
}

/** The object pino logs for an access line. */
export function accessObject(l: AccessLine): Record<string, unknown> {
  return {
    req: { id: l.id, method: l.method, url: l.url, remoteAddress: l.remoteAddress },
    res: { statusCode: l.statusCode },
    responseTime: l.responseTime,
    ...(l.aborted ? { aborted: true } : {}),
  };
}
