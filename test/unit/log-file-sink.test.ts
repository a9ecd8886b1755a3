import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedLogDestination } from '../../src/cli/log-destination.js';

describe('BatchedLogDestination to a regular file', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes each full block at once, and the rest on flush, in order', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plantiles-log-'));
    const file = path.join(dir, 'out.log');
    const fd = openSync(file, 'w');
    const log = BatchedLogDestination.toFd(fd, { blockChars: 20 });
    try {
      log.write('{"n":1,"s":"耕地"}\n');
      expect(readFileSync(file, 'utf8')).toBe('');
      log.write('{"n":2}\n');
      // The block is full: it is in the file already, with no event-loop turn in between.
      expect(readFileSync(file, 'utf8')).toBe('{"n":1,"s":"耕地"}\n{"n":2}\n');
      log.write('{"n":3}\n');
      log.flush();
      expect(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { n: number }).n)).toEqual([1, 2, 3]);
    } finally {
      log.close();
      closeSync(fd);
    }
  });
});
