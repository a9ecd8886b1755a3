import type { RequestHandler } from 'express';
import { HttpError } from './http-error.js';

/** One documented path as a pattern, with the methods it answers. */
interface PathMethods {
  pattern: RegExp;
  allow: string;
}

/**
 * Answers 405 (with Allow) for a request no route took whose path is a documented one
 * (OpenAPI `paths`, `{name}` standing for one segment) under another method: `DELETE`
 * of a tile, `GET` of a publish. Any other path falls through to the 404.
 */
export function methodNotAllowed(paths: Record<string, Record<string, unknown>>): RequestHandler {
  const table: PathMethods[] = Object.entries(paths).map(([template, operations]) => {
    const methods = Object.keys(operations).map((m) => m.toUpperCase());
    if (methods.includes('GET')) methods.push('HEAD');
    const source = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+');
    return { pattern: new RegExp(`^${source}$`), allow: methods.join(', ') };
  });
  return (req, res, next) => {
    const known = table.find((p) => p.pattern.test(req.path));
    if (!known) {
      next();
      return;
    }
    res.setHeader('Allow', known.allow);
    next(new HttpError(405, `${req.method} is not allowed here (${known.allow})`, { path: req.path, allow: known.allow }));
  };
}
