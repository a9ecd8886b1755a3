import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';

/** An error that maps to an HTTP status and a `{error, detail}` body. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(readonly status: number, message: string, readonly detail?: unknown) {
    super(message);
  }
}

/** The 404 for a route nobody serves. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not found', { path: req.path }));
};

/** The one place that turns errors into responses. Bad input is a 4xx; only our own bugs are a 500. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const { status, body } = toResponse(err);
    if (status >= 500) logger.error({ err, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).type('application/json').send(JSON.stringify(body));
  };
}

/** The status and `{error, detail}` body an error is answered with. */
export function toResponse(err: unknown): { status: number; body: { error: string; detail: unknown } } {
  if (err instanceof HttpError) return { status: err.status, body: { error: err.message, detail: err.detail ?? null } };
  if (err instanceof URIError) return { status: 400, body: { error: 'malformed URL encoding', detail: null } };
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown; code?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
  // body-parser's wording ("Unexpected token …") names neither the body nor what was expected.
  if (status === 400 && e.type === 'entity.parse.failed') return { status, body: { error: 'the body is not valid JSON', detail: typeof e.message === 'string' ? e.message : null } };
  // zlib's wording ("incorrect header check") names neither the body nor its encoding.
  if (status === 400 && typeof e.code === 'string' && e.code.startsWith('Z_')) {
    return { status, body: { error: 'the body does not decompress as its Content-Encoding says', detail: typeof e.message === 'string' ? e.message : null } };
  }
  if (status >= 400 && status < 500) {
    return { status, body: { error: typeof e.message === 'string' ? e.message : 'bad request', detail: typeof e.type === 'string' ? e.type : null } };
  }
  return { status: 500, body: { error: 'internal error', detail: null } };
}
