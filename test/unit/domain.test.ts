import { describe, expect, it } from 'vitest';
import { featureIdFor } from '../../src/domain/feature-id.js';
import { isLayerId } from '../../src/domain/layer-id.js';
import { parseTileCoord, TileCoordError, tileBounds, tileForLonLat } from '../../src/domain/tile-coord.js';
import { parseTilePath, TilePathError } from '../../src/domain/tile-path.js';
import { compareVersionTags, formatVersionTag, nextVersionTag, parseVersionTag } from '../../src/domain/version-tag.js';

describe('layer ids', () => {
  it.each(['farmland', 'eco-redline', 'gaotang-farmland', 'a', 'A.b_c-1', 'x'.repeat(64)])('accepts %s', (id) => {
    expect(isLayerId(id)).toBe(true);
  });
  it.each(['', '-x', '.hidden', '../etc', 'a/b', 'a b', 'x'.repeat(65), '耕地', 'a@b'])('refuses %j', (id) => {
    expect(isLayerId(id)).toBe(false);
  });
});

describe('version tags', () => {
  it('parses, formats and orders semver triples', () => {
    expect(parseVersionTag('1.10.0')).toEqual({ major: 1, minor: 10, patch: 0 });
    expect(formatVersionTag({ major: 2, minor: 0, patch: 0 })).toBe('2.0.0');
    expect(compareVersionTags({ major: 1, minor: 10, patch: 0 }, { major: 1, minor: 9, patch: 0 })).toBeGreaterThan(0);
  });
  it.each(['1.0', 'v1.0.0', '01.0.0', '1.0.0-beta', 'latest', '1.0.0.0', ''])('refuses %j', (text) => {
    expect(parseVersionTag(text)).toBeNull();
  });
  it('starts at 1.0.0, bumps minor for tiles and major for schema', () => {
    expect(nextVersionTag(null, 'minor')).toEqual({ major: 1, minor: 0, patch: 0 });
    expect(nextVersionTag({ major: 1, minor: 3, patch: 0 }, 'minor')).toEqual({ major: 1, minor: 4, patch: 0 });
    expect(nextVersionTag({ major: 1, minor: 3, patch: 0 }, 'major')).toEqual({ major: 2, minor: 0, patch: 0 });
  });
});

describe('tile coordinates', () => {
  it('accepts in-range integers', () => {
    expect(parseTileCoord('0', '0', '0')).toEqual({ z: 0, x: 0, y: 0 });
    expect(parseTileCoord('30', String(2 ** 30 - 1), '0')).toEqual({ z: 30, x: 2 ** 30 - 1, y: 0 });
  });
  it.each([['1.0', '0', '0'], ['-1', '0', '0'], ['2', '4', '0'], ['2', '0', '4'], ['31', '0', '0'], ['01', '0', '0'], ['a', '0', '0'], ['1e1', '0', '0']])(
    'refuses %s/%s/%s', (z, x, y) => {
      expect(() => parseTileCoord(z, x, y)).toThrow(TileCoordError);
    });
  it('converts between lon/lat and tiles', () => {
    const t = tileForLonLat(115.98, 36.45, 12);
    const [w, s, e, n] = tileBounds(t);
    expect(w).toBeLessThanOrEqual(115.98);
    expect(e).toBeGreaterThan(115.98);
    expect(s).toBeLessThanOrEqual(36.45);
    expect(n).toBeGreaterThan(36.45);
  });
});

describe('tile paths', () => {
  it('parses TileJSON, tile and diff paths', () => {
    expect(parseTilePath('farmland.json')).toEqual({ kind: 'tilejson', layer: 'farmland', version: null });
    expect(parseTilePath('farmland@1.2.0.json')).toEqual({ kind: 'tilejson', layer: 'farmland', version: '1.2.0' });
    expect(parseTilePath('eco.redline@1.0.0.json')).toEqual({ kind: 'tilejson', layer: 'eco.redline', version: '1.0.0' });
    expect(parseTilePath('farmland/3/1/2.pbf')).toMatchObject({ kind: 'tile', layer: 'farmland', version: null, coord: { z: 3, x: 1, y: 2 } });
    expect(parseTilePath('farmland@2.0.0/diff/1.0.0')).toEqual({ kind: 'diff', layer: 'farmland', version: '2.0.0', from: '1.0.0' });
  });
  it.each(['', 'farmland', '../x.json', 'farmland/1/0/0.png', 'farmland/1/0', 'farmland@x/1/0/0.mvt', 'farmland/diff/1.0.0', 'a/b/c/d/e'])('refuses %j', (p) => {
    expect(() => parseTilePath(p)).toThrow(Error);
  });
  it('reports path problems as TilePathError', () => {
    expect(() => parseTilePath('..%2F.json')).toThrow(TilePathError);
  });
});

describe('feature ids', () => {
  it('keeps small integers and hashes long BSM codes deterministically, without collisions between the two', () => {
    expect(featureIdFor('42')).toBe(42);
    expect(featureIdFor(42)).toBe(42);
    const long = featureIdFor('371502000000000000123');
    expect(long).toBe(featureIdFor('371502000000000000123'));
    expect(long).toBeGreaterThanOrEqual(2 ** 52);
    expect(long).toBeLessThan(2 ** 53);
    expect(featureIdFor('371502000000000000124')).not.toBe(long);
    expect(featureIdFor('0042')).toBeGreaterThanOrEqual(2 ** 52);
  });
});
