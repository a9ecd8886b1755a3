import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

/** A well-formed request id a proxy may pass in X-Request-Id. */
const INCOMING_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Paths that must never reach a log line, whatever a serializer or a future log call includes. */
export const REDACTED_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]',
  'headers.authorization', 'headers.cookie', 'authorization',
];

/** The request-log middleware: works on plain node requests, before any router. */
export type RequestLog = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Structured access logs (pino-http): one JSON line per finished request with a
 * request id, the method, the URL, the status and the time taken. The id comes
 * from X-Request-Id when a proxy set a sane one, else from this process, and is
 * echoed in the response. Headers are not logged, so Authorization never is.
 */
export function createRequestLog(logger: Logger): RequestLog {
  const boot = randomBytes(3).toString('hex');
  let next = 0;
  const middleware = pinoHttp({
    logger,
    wrapSerializers: false,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    genReqId: (req, res) => {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : `${boot}-${(next++).toString(36)}`;
      res.setHeader('X-Request-Id', id);
      return id;
    },
    serializers: {
      req: (req: IncomingMessage & { id?: unknown }) => ({ id: req.id, method: req.method, url: req.url, remoteAddress: req.socket?.remoteAddress }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
  });
  return (req, res) => middleware(req, res);
}
