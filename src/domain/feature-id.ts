import { hash } from 'node:crypto';

/**
 * The MVT feature id for an idField value. Small non-negative integers (written
 * without leading zeros) are used as they are, so ids read naturally; anything
 * else (BSM codes of 18+ digits exceed 2^53) becomes the first 52 bits of its
 * SHA-256, offset above 2^52 so the two ranges never meet. Same value, same id,
 * on every machine and in every version.
 */
export function featureIdFor(value: string | number | boolean): number {
  const text = String(value);
  if (/^(0|[1-9]\d{0,14})$/.test(text)) {
    const n = Number(text);
    if (n < 2 ** 52) return n;
  }
  // One-shot hashing: no Hash object per feature (ingest calls this once per feature).
  const digest = hash('sha256', text, 'buffer');
  const high = digest.readUInt32BE(0) & 0xfffff; // 20 bits
  const low = digest.readUInt32BE(4); // 32 bits
  return 2 ** 52 + high * 2 ** 32 + low;
}
