import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzipSafely } from '../../pipeline/ingest/unzip-safely.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';
import { writeZip } from '../fixtures/ingest/sources.js';
import { rawZip, type RawEntry } from '../fixtures/ingest/raw-zip.js';

const entry = (name: string, data = 'x', extra: Partial<RawEntry> = {}): RawEntry => ({ name: Buffer.from(name), data: Buffer.from(data), ...extra });
const limits = { maxEntries: 100, maxTotalBytes: 10 * 2 ** 20, maxRatio: 100 };

describe('unzipSafely', () => {
  let dir: string;
  beforeAll(() => { dir = makeTempDir('plantiles-unzip-test-'); });
  afterAll(() => removeDir(dir));

  const attempt = async (name: string, zip: Buffer, lim = limits): Promise<{ out: string; result: Promise<string[]> }> => {
    const file = path.join(dir, `${name}.zip`);
    writeFileSync(file, zip);
    const out = path.join(dir, `${name}-out`);
    return { out, result: unzipSafely(file, out, lim) };
  };

  it('unpacks folders and files, decoding GBK names that carry no UTF-8 flag', async () => {
    const { out, result } = await attempt('good', rawZip([
      entry('data/', ''),
      entry('data/a.txt', 'hello', { utf8Flag: true }),
      { name: iconv.encode('data/地块.prj', 'gbk'), data: Buffer.from('PROJCS') },
    ]));
    expect(await result).toEqual(['data/a.txt', 'data/地块.prj']);
    expect(readFileSync(path.join(out, 'data/地块.prj'), 'utf8')).toBe('PROJCS');
  });

  it.each([
    ['traversal', [entry('../evil.txt')], /entry "\.\.\/evil\.txt" climbs out of the archive with "\.\."/],
    ['deep-traversal', [entry('ok/../../evil.txt')], /climbs out of the archive/],
    ['backslash-traversal', [entry('..\\evil.txt')], /climbs out of the archive/],
    ['absolute', [entry('/tmp/evil.txt')], /entry "\/tmp\/evil\.txt" has an absolute path/],
    ['drive', [entry('C:/evil.txt')], /has an absolute path/],
    ['symlink', [entry('link.shp', '/etc/passwd', { mode: 0o120777 })], /entry "link\.shp" is a symbolic link/],
    ['duplicate', [entry('a.shp'), entry('A.SHP')], /entry "A\.SHP" appears twice/],
  ])('refuses %s before writing anything', async (name, entries, message) => {
    const { out, result } = await attempt(name, rawZip(entries));
    await expect(result).rejects.toThrow(message);
    expect(existsSync(path.join(dir, 'evil.txt'))).toBe(false);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('refuses too many entries, too many bytes and zip-bomb ratios', async () => {
    const many = await attempt('many', rawZip([1, 2, 3, 4].map((i) => entry(`f${i}.txt`))), { ...limits, maxEntries: 3 });
    await expect(many.result).rejects.toThrow('many.zip: holds more than 3 entries');
    const big = await attempt('big', rawZip([entry('a.bin', 'x'.repeat(3000))]), { ...limits, maxTotalBytes: 2000 });
    await expect(big.result).rejects.toThrow('big.zip: unpacks to more than 2000 bytes');
    const bomb = path.join(dir, 'bomb.zip');
    await writeZip(bomb, { 'zeros.dbf': Buffer.alloc(64 * 2 ** 20) });
    await expect(unzipSafely(bomb, path.join(dir, 'bomb-out'), limits)).rejects.toThrow(/bomb\.zip: entry "zeros\.dbf" expands \d+:1, more than the 100:1 a real file does \(zip bomb\?\)/);
    expect(existsSync(path.join(dir, 'bomb-out', 'zeros.dbf'))).toBe(false);
  });

  it('refuses a damaged entry (its CRC-32 does not match) and one whose header contradicts itself, naming the zip and entry', async () => {
    const good = entry('a.shp', 'the bytes as they were written');
    const damaged = await attempt('damaged', rawZip([entry('a.prj', 'PROJCS'), { ...good, crc: (zlib.crc32(good.data) ^ 0x10) >>> 0 }]));
    await expect(damaged.result).rejects.toThrow('damaged.zip: entry "a.shp" is damaged: its CRC-32 does not match (the archive was corrupted, in transfer or on disk)');
    const flagged = await attempt('flagged', rawZip([entry('a.cpg', 'GBK', { flags: 0x1 })]));
    await expect(flagged.result).rejects.toThrow(/^flagged\.zip: /);
  });

  it('refuses a file that is not a zip', async () => {
    const { result } = await attempt('garbage', Buffer.from('PK but not really a zip archive at all'));
    await expect(result).rejects.toThrow(/garbage\.zip: is not a readable zip archive/);
  });
});
