import type { Request } from 'express';

/** Absolute base URL for links: publicUrl when configured, else from the request (and proxy headers when trusted). */
export function baseUrlOf(req: Request, publicUrl: string | undefined, trustProxy: boolean): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  const forwardedHost = trustProxy ? firstValue(req.get('x-forwarded-host')) : undefined;
  const host = forwardedHost ?? req.get('host') ?? 'localhost';
  // req.protocol already honours X-Forwarded-Proto when 'trust proxy' is set.
  return `${req.protocol}://${host}`;
}

function firstValue(header: string | undefined): string | undefined {
  const v = header?.split(',')[0]?.trim();
  return v ? v : undefined;
}
