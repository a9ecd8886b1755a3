import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { directAccessLine, type AccessLine } from '../../src/server/access-line.js';
import { accessObject } from '../../src/server/request-log.js';

/** A pino logger writing into an array, with a fixed clock. */
function capture(options: pino.LoggerOptions = {}): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
  return { logger: pino({ base: { app: 'plantiles' }, timestamp: () => ',"time":42', ...options }, stream), lines };
}

const line: AccessLine = {
  id: 'abc-1', method: 'GET', url: '/tiles/x@1.0.0/1/0/0.mvt?q="\\', remoteAddress: '127.0.0.1', statusCode: 404, responseTime: 0.37, aborted: false, msg: 'request completed',
};

describe('directAccessLine', () => {
  it('writes the line pino would write, byte for byte', () => {
    const direct = capture();
    const viaPino = capture();
    const write = directAccessLine(direct.logger);
    expect(write).not.toBeNull();
    for (const l of [line, { ...line, aborted: true, remoteAddress: undefined, statusCode: 500, msg: 'request errored' }]) {
      write?.('warn', l);
      viaPino.logger.warn(accessObject(l), l.msg);
    }
    expect(direct.lines.join('')).toBe(viaPino.lines.join(''));
    expect(JSON.parse(direct.lines[0] ?? '')).toMatchObject({ level: 40, time: 42, app: 'plantiles', req: { id: 'abc-1', url: line.url }, res: { statusCode: 404 } });
  });

  it('follows a child logger\'s bindings and custom level formatting', () => {
    const direct = capture({ formatters: { level: (label) => ({ level: label }) } });
    const viaPino = capture({ formatters: { level: (label) => ({ level: label }) } });
    directAccessLine(direct.logger.child({ node: 'a' }))?.('info', line);
    viaPino.logger.child({ node: 'a' }).info(accessObject(line), line.msg);
    expect(direct.lines).toHaveLength(1);
    expect(direct.lines).toEqual(viaPino.lines);
  });

  it('is not used where pino must see each line or formats it differently', () => {
    expect(directAccessLine(capture({ redact: ['req.url'] }).logger)).toBeNull();
    expect(directAccessLine(capture({ nestedKey: 'payload' }).logger)).toBeNull();
    expect(directAccessLine(capture({ mixin: () => ({ extra: 1 }) }).logger)).toBeNull();
    expect(directAccessLine(capture({ hooks: { streamWrite: (s) => s } }).logger)).toBeNull();
  });
});
