import { PbfWriter } from 'pbf';
import { describe, expect, it } from 'vitest';
import { encodePlain } from '../../pipeline/tile/encode-tile.js';
import { validateMvt } from '../helpers/mvt-validate.js';

// The validator the tiling tests rely on must itself catch each kind of invalid tile.
describe('MVT 2.1 validator', () => {
  const square: [number, number][] = [[10, 10], [20, 10], [20, 20], [10, 20], [10, 10]];

  /** A one-layer tile whose single feature has this type and raw command stream. */
  const rawTile = (type: number, geometry: number[], opts: { version?: number; extent?: number; tags?: number[] } = {}): Uint8Array => {
    const pbf = new PbfWriter();
    pbf.writeMessage(3, (_: unknown, p: PbfWriter) => {
      p.writeVarintField(15, opts.version ?? 2);
      p.writeStringField(1, 'l');
      p.writeMessage(2, (__: unknown, q: PbfWriter) => {
        q.writeVarintField(1, 7);
        q.writePackedVarint(2, opts.tags ?? []);
        q.writeVarintField(3, type);
        q.writePackedVarint(4, geometry);
      }, null);
      p.writeVarintField(5, opts.extent ?? 4096);
    }, null);
    return pbf.finish();
  };
  const zz = (n: number): number => (n << 1) ^ (n >> 31);
  const cmd = (id: number, count: number): number => (count << 3) | id;

  it('accepts a well-formed polygon, line and point tile from the encoder', () => {
    const bytes = encodePlain('l', [
      { id: 1, type: 3, tags: { a: 'x' }, geometry: [square] },
      { id: 2, type: 2, tags: {}, geometry: [[[0, 0], [100, 50]]] },
      { id: 3, type: 1, tags: { n: 1.5 }, geometry: [[5, 5]] },
    ]);
    expect(validateMvt(bytes, { buffer: 64 })).toEqual([]);
  });

  it('rejects an exterior ring wound the wrong way', () => {
    const bytes = encodePlain('l', [{ id: 1, type: 3, tags: {}, geometry: [[...square].reverse()] }]);
    expect(validateMvt(bytes, { buffer: 64 }).join()).toMatch(/first ring is not exterior/);
  });

  it('rejects a ring of three points and a ring of zero area', () => {
    const short = rawTile(3, [cmd(1, 1), zz(0), zz(0), cmd(2, 1), zz(5), zz(5), cmd(7, 1)]);
    expect(validateMvt(short, { buffer: 64 }).join()).toMatch(/needs 4/);
    const flat = rawTile(3, [cmd(1, 1), zz(0), zz(0), cmd(2, 2), zz(5), zz(0), zz(5), zz(0), cmd(7, 1)]);
    expect(validateMvt(flat, { buffer: 64 }).join()).toMatch(/zero area/);
  });

  it('rejects geometry beyond extent + buffer, zero-length LineTo, bad counts and a missing ClosePath', () => {
    const far = rawTile(2, [cmd(1, 1), zz(4096 + 65), zz(0), cmd(2, 1), zz(-10), zz(0)]);
    expect(validateMvt(far, { buffer: 64 }).join()).toMatch(/outside extent \+ buffer/);
    expect(validateMvt(far, { buffer: 128 })).toEqual([]);
    const still = rawTile(2, [cmd(1, 1), zz(1), zz(1), cmd(2, 1), zz(0), zz(0)]);
    expect(validateMvt(still, { buffer: 64 }).join()).toMatch(/zero-length LineTo/);
    const twoMoves = rawTile(2, [cmd(1, 2), zz(1), zz(1), zz(2), zz(2), cmd(2, 1), zz(3), zz(0)]);
    expect(validateMvt(twoMoves, { buffer: 64 }).join()).toMatch(/MoveTo count 2/);
    const open = rawTile(3, [cmd(1, 1), zz(0), zz(0), cmd(2, 2), zz(10), zz(0), zz(0), zz(10)]);
    expect(validateMvt(open, { buffer: 64 }).join()).toMatch(/not closed/);
    const lineClose = rawTile(2, [cmd(1, 1), zz(0), zz(0), cmd(2, 1), zz(10), zz(0), cmd(7, 1)]);
    expect(validateMvt(lineClose, { buffer: 64 }).join()).toMatch(/ClosePath outside a polygon/);
  });

  it('rejects a layer of another version, tags pointing nowhere and bytes that are not a tile', () => {
    const v1 = rawTile(1, [cmd(1, 1), zz(1), zz(1)], { version: 1 });
    expect(validateMvt(v1, { buffer: 64 }).join()).toMatch(/version 1/);
    const tags = rawTile(1, [cmd(1, 1), zz(1), zz(1)], { tags: [0, 0] });
    expect(validateMvt(tags, { buffer: 64 }).join()).toMatch(/tag key 0 out of range/);
    expect(validateMvt(new Uint8Array([0xff, 0xff, 0xff]), { buffer: 64 }).length).toBeGreaterThan(0);
  });
});
