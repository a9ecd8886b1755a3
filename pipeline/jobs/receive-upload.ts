import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { JobsError, type UploadKind } from '../../src/jobs/jobs.js';

/** The uploaded file's name inside its revision folder; messages about the upload name it. */
export function uploadFileName(layer: string, revision: number, kind: UploadKind): string {
  return `${layer}-r${revision}.${kind === 'zip' ? 'zip' : 'geojson'}`;
}

/** What was written: the byte count and SHA-256 of the body. */
export interface ReceivedUpload {
  bytes: number;
  sha256: string;
}

/**
 * Streams a request body to `file` (which must not exist), never holding the body in
 * memory. Past `maxBytes` it stops reading, removes the partial file and fails with
 * JobsError 'too-large'; a body cut short fails with 'upload-aborted'.
 */
export function receiveUpload(body: Readable, file: string, maxBytes: number, layer: string): Promise<ReceivedUpload> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file, { flags: 'wx' });
    const hash = createHash('sha256');
    let bytes = 0;
    let ended = false;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.pause();
      out.destroy();
      void rm(file, { force: true }).finally(() => reject(err));
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        fail(new JobsError('too-large', `the upload is larger than admin.maxUploadBytes (${maxBytes} bytes)`, layer));
        return;
      }
      hash.update(chunk);
      if (!out.write(chunk)) {
        body.pause();
        out.once('drain', () => { if (!settled) body.resume(); });
      }
    };
    body.on('data', onData);
    body.once('end', () => {
      ended = true;
      out.end(() => {
        if (settled) return;
        settled = true;
        resolve({ bytes, sha256: hash.digest('hex') });
      });
    });
    const cutShort = (): JobsError => new JobsError('upload-aborted', `the upload was cut short by the client after ${bytes} bytes`, layer);
    // Node reports a client that closed mid-body as an 'aborted' error (ECONNRESET): the same event as a close.
    body.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ECONNRESET' ? cutShort() : new JobsError('upload-aborted', `the upload was cut short after ${bytes} bytes: ${err.message}`, layer)));
    body.once('close', () => { if (!ended) fail(cutShort()); });
    out.once('error', fail);
  });
}
