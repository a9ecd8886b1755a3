import { createHash, type Hash } from 'node:crypto';
import path from 'node:path';

/**
 * The content hash of a source as its fingerprint records it: SHA-256 over each of its
 * files in turn — the file's lower-cased name, a NUL, its bytes, a NUL — in hex. Fed
 * either by reading the files for it, or by ingest with the bytes it reads, so that the
 * hash recorded for a publish is that of exactly what it read.
 */
export class SourceHash {
  private readonly hash: Hash = createHash('sha256');

  beginFile(file: string): void {
    this.hash.update(`${path.basename(file).toLowerCase()}\0`);
  }

  update(bytes: Uint8Array): void {
    this.hash.update(bytes);
  }

  endFile(): void {
    this.hash.update('\0');
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
