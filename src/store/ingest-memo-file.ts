import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { isLayerId } from '../domain/layer-id.js';
import { isProcessAlive } from './process-alive.js';
import type { IngestMemoFile } from './tile-store.js';

// The SQLite store keeps each layer's ingest memo as a file beside the database
// (memo/<layer>.memo): it is large (the layer's packed features), only a cache, and
// rewritten whole by every publish, which a file does without growing the WAL.

const MEMO_DIR = 'memo';

function memoPath(dir: string, layer: string): string | null {
  return isLayerId(layer) ? path.join(dir, MEMO_DIR, `${layer}.memo`) : null;
}

/** The memo file, open, or null when there is none. */
export function openIngestMemo(dir: string, layer: string): IngestMemoFile | null {
  const file = memoPath(dir, layer);
  if (!file) return null;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return {
    size: fstatSync(fd).size,
    read: (position, length) => {
      const out = Buffer.allocUnsafeSlow(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
      return done === length ? out : out.subarray(0, done);
    },
    close: () => closeSync(fd),
  };
}

/**
 * Writes the memo to a temporary file and renames it over the old one, so a reader sees
 * one or the other. Not synced to disk: after a crash the memo may be cut short, which
 * its own checksums tell its reader (and a publish without a memo reads every record).
 */
export async function writeIngestMemo(dir: string, layer: string, parts: readonly Uint8Array[]): Promise<void> {
  const file = memoPath(dir, layer);
  if (!file) return;
  await mkdir(path.dirname(file), { recursive: true });
  await removeAbandoned(file);
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(temporary, 'w', 0o644);
  try {
    // writev takes at most IOV_MAX buffers and may write partially: loop until all is out.
    const pending = parts.filter((p) => p.byteLength > 0).map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    while (pending.length) {
      let { bytesWritten } = await handle.writev(pending.slice(0, 1024));
      while (bytesWritten > 0 && pending.length) {
        const head = pending[0] as Buffer;
        if (bytesWritten >= head.length) {
          bytesWritten -= head.length;
          pending.shift();
        } else {
          pending[0] = head.subarray(bytesWritten);
          bytesWritten = 0;
        }
      }
    }
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw err;
  }
  await rename(temporary, file);
}

/** Removes temporary memo files of `file` left by processes that died while writing them. */
async function removeAbandoned(file: string): Promise<void> {
  const prefix = `${path.basename(file)}.`;
  for (const name of await readdir(path.dirname(file))) {
    const pid = name.startsWith(prefix) && name.endsWith('.tmp') ? Number(name.slice(prefix.length).split('.')[0]) : NaN;
    if (Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid)) await rm(path.join(path.dirname(file), name), { force: true });
  }
}
