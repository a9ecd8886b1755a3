import pino, { type Logger } from 'pino';

/** The fields of one access log line. */
export interface AccessLine {
  id: string;
  method: string | undefined;
  url: string | undefined;
  remoteAddress: string | undefined;
  statusCode: number;
  responseTime: number;
  aborted: boolean;
  msg: string;
}

/** Writes an access line at a level. */
export type AccessLineWriter = (level: 'info' | 'warn' | 'error', line: AccessLine) => void;

/** The fields pino keeps on a logger, reached through its exported `pino.symbols` (meant for integrations like this one). */
interface PinoInternals {
  lsCache: Record<number, string>;
  time: (this: Logger) => string;
  chindings: string;
  end: string;
  stream: { write(s: string): unknown; [k: symbol]: unknown };
  asJson: (obj: object, msg: string, num: number, time: string) => string;
}

/**
 * A writer that formats access lines by hand, byte for byte as the logger itself would,
 * and hands them to the logger's destination. pino's own path walks the object's keys
 * through its generic serialiser and allocates several times the line's size; per
 * request on the tile fast path that was the biggest cost after the socket write.
 * It is used only when a sample line comes out identical both ways (so a logger with
 * formatters, serialisers, a nested key or redaction keeps pino's path), and never when
 * pino must see each line (stream hooks, mixins, multistream metadata): null then.
 */
export function directAccessLine(logger: Logger): AccessLineWriter | null {
  const internals = internalsOf(logger);
  if (!internals) return null;
  const { lsCache, end, stream } = internals;
  const raw = logger as unknown as Record<symbol, unknown>;
  const format = (num: number, time: string, l: AccessLine): string => {
    // Read each time: setBindings() replaces them.
    let s = `${lsCache[num]}${time}${raw[pino.symbols.chindingsSym] as string},"req":{"id":${JSON.stringify(l.id)}`;
    if (l.method !== undefined) s += `,"method":${JSON.stringify(l.method)}`;
    if (l.url !== undefined) s += `,"url":${JSON.stringify(l.url)}`;
    if (l.remoteAddress !== undefined) s += `,"remoteAddress":${JSON.stringify(l.remoteAddress)}`;
    s += `},"res":{"statusCode":${l.statusCode}},"responseTime":${l.responseTime}`;
    if (l.aborted) s += ',"aborted":true';
    return `${s},"msg":${JSON.stringify(l.msg)}${end}`;
  };
  const sample: AccessLine = {
    id: 'a1b2c3-0', method: 'GET', url: '/tiles/x@1.0.0/1/0/0.mvt?"q"', remoteAddress: '::1', statusCode: 200, responseTime: 1.25, aborted: true, msg: 'request completed',
  };
  const info = logger.levels.values.info ?? 30;
  const byPino = internals.asJson.call(logger, {
    req: { id: sample.id, method: sample.method, url: sample.url, remoteAddress: sample.remoteAddress },
    res: { statusCode: sample.statusCode }, responseTime: sample.responseTime, aborted: true,
  }, sample.msg, info, ',"time":0');
  if (lsCache[info] === undefined || format(info, ',"time":0', sample) !== byPino) return null;
  const levels = logger.levels.values;
  return (level, line) => {
    stream.write(format(levels[level] ?? info, internals.time.call(logger), line));
  };
}

function internalsOf(logger: Logger): PinoInternals | null {
  const s = pino.symbols;
  const raw = logger as unknown as Record<symbol, unknown>;
  const stream = raw[s.streamSym] as PinoInternals['stream'] | undefined;
  const hooks = raw[s.hooksSym] as { streamWrite?: unknown } | undefined;
  if (!stream || typeof stream.write !== 'function' || stream[s.needsMetadataGsym] === true) return null;
  // A message prefix or formatters show in the sample line; a mixin may add fields to some lines only.
  if (hooks?.streamWrite || raw[s.mixinSym]) return null;
  const internals = {
    lsCache: raw[s.lsCacheSym] as PinoInternals['lsCache'],
    time: raw[s.timeSym] as PinoInternals['time'],
    chindings: raw[s.chindingsSym] as string,
    end: raw[s.endSym] as string,
    stream,
    asJson: raw[s.asJsonSym] as PinoInternals['asJson'],
  };
  if (typeof internals.time !== 'function' || typeof internals.asJson !== 'function' || typeof internals.chindings !== 'string' || typeof internals.end !== 'string' || !internals.lsCache) return null;
  return internals;
}
