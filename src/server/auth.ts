import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { HttpError } from './http-error.js';

/** A token as configured: a name, the environment variable holding its secret, its layer patterns. */
export interface TokenConfig {
  name: string;
  env: string;
  layers: string[];
}

/** Who made an admin request: the token's name and the layers it may act on. */
export interface AdminPrincipal {
  name: string;
  layers: readonly string[];
  /** True when the token covers every layer (its patterns include "*"). */
  global: boolean;
}

interface UsableToken {
  principal: AdminPrincipal;
  matchers: RegExp[];
  /** SHA-256 of the secret: comparing fixed-length digests keeps the comparison constant-time. */
  digest: Buffer;
}

/** Secrets shorter than this still work but draw a warning at start. */
const SHORT_SECRET = 16;

/**
 * Bearer tokens of the admin API. Secrets come from the environment and are kept
 * only as digests; nothing here ever logs a secret or a presented token.
 */
export class AdminAuth {
  private constructor(
    private readonly tokens: UsableToken[],
    /** Tokens whose environment variable is unset or empty: disabled. */
    readonly disabled: readonly { name: string; env: string }[],
    /** Tokens whose secret is short. */
    readonly weak: readonly string[],
  ) {}

  /** Builds the token table from the config and the environment. */
  static fromConfig(tokens: readonly TokenConfig[], env: NodeJS.ProcessEnv): AdminAuth {
    const usable: UsableToken[] = [];
    const disabled: { name: string; env: string }[] = [];
    const weak: string[] = [];
    for (const t of tokens) {
      const secret = env[t.env];
      if (secret === undefined || secret.trim() === '') {
        disabled.push({ name: t.name, env: t.env });
        continue;
      }
      if (secret.length < SHORT_SECRET) weak.push(t.name);
      usable.push({
        principal: { name: t.name, layers: [...t.layers], global: t.layers.includes('*') },
        matchers: t.layers.map(patternToRegExp),
        digest: sha256(secret),
      });
    }
    return new AdminAuth(usable, disabled, weak);
  }

  /** False when no token is usable: every admin route then answers 401. */
  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** The principal of an `Authorization: Bearer …` header, or null. Every token is compared, in constant time. */
  authenticate(header: string | undefined): AdminPrincipal | null {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
    if (!m || this.tokens.length === 0) return null;
    const presented = sha256(m[1] as string);
    let found: UsableToken | null = null;
    for (const t of this.tokens) {
      const equal = timingSafeEqual(presented, t.digest);
      if (equal && found === null) found = t;
    }
    return found?.principal ?? null;
  }

  /** True when the principal's patterns cover the layer. */
  covers(principal: AdminPrincipal, layer: string): boolean {
    const token = this.tokens.find((t) => t.principal === principal);
    return token ? token.matchers.some((re) => re.test(layer)) : false;
  }

  /** Logs, at start, which tokens are disabled or weak (by name and variable, never the secret). */
  warnAtStart(logger: Logger): void {
    for (const d of this.disabled) logger.warn({ token: d.name, env: d.env }, `admin token "${d.name}" is disabled: environment variable ${d.env} is not set`);
    for (const name of this.weak) logger.warn({ token: name }, `admin token "${name}" has a secret shorter than ${SHORT_SECRET} characters`);
    if (!this.enabled) logger.warn('admin API disabled: no admin token is usable, every admin route answers 401');
  }
}

/** Express middleware: 401 unless the request carries a valid token; the principal goes to res.locals. */
export function requireToken(auth: AdminAuth): RequestHandler {
  return (req, res, next) => {
    const principal = auth.authenticate(req.get('authorization'));
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="plantiles admin"');
      next(new HttpError(401, auth.enabled ? 'a valid admin token is required (Authorization: Bearer <token>)' : 'the admin API is disabled: no admin token is configured'));
      return;
    }
    res.locals.principal = principal;
    next();
  };
}

/** The principal `requireToken` stored on the response. */
export function principalOf(res: Response): AdminPrincipal {
  const p = res.locals.principal as AdminPrincipal | undefined;
  if (!p) throw new HttpError(401, 'a valid admin token is required');
  return p;
}

/** "*" matches any run of characters; everything else is literal. */
function patternToRegExp(pattern: string): RegExp {
  const body = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
