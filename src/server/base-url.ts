import type { Request } from 'express';
import { HttpError } from './http-error.js';

/**
 * A Host value links may be built from: a DNS name or IPv4 address, or a bracketed IPv6
 * address, with an optional port. Anything else (a path, spaces, markup) would be written
 * into TileJSON, the style and the catalog as it came.
 */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * Absolute base URL for links: publicUrl when configured, else from the request (and
 * proxy headers when trusted). A Host or X-Forwarded-Host that is not a host name
 * (with port), or a forwarded protocol other than http or https, is a 400.
 */
export function baseUrlOf(req: Request, publicUrl: string | undefined, trustProxy: boolean): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  const forwardedHost = trustProxy ? firstValue(req.get('x-forwarded-host')) : undefined;
  const host = forwardedHost ?? req.get('host') ?? 'localhost';
  if (!HOST.test(host)) throw new HttpError(400, `malformed ${forwardedHost ? 'X-Forwarded-Host' : 'Host'} header: links are built from it`, { host });
  // req.protocol already honours X-Forwarded-Proto when 'trust proxy' is set.
  const protocol = req.protocol;
  if (protocol !== 'http' && protocol !== 'https') throw new HttpError(400, 'X-Forwarded-Proto must be http or https', { protocol });
  return `${protocol}://${host}`;
}

function firstValue(header: string | undefined): string | undefined {
  const v = header?.split(',')[0]?.trim();
  return v ? v : undefined;
}
