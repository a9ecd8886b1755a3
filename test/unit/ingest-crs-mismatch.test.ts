import { describe, expect, it } from 'vitest';
import { explainCrsMismatch } from '../../pipeline/ingest/explain-crs-mismatch.js';
import { resolveCrs } from '../../pipeline/ingest/resolve-crs.js';

// Why Gauss–Krüger coordinates left their CRS's area: the message names the likely
// mistake and the CGCS2000 code to use instead. (The bad-input corpus checks two of
// these end to end through the CLI.)

describe('explainCrsMismatch', () => {
  const cm117 = resolveCrs('EPSG:4548'); // CGCS2000 3° CM 117°E, no zone number
  const zone39 = resolveCrs('EPSG:4527'); // CGCS2000 3° zone 39 (CM 117°E), zone number in the easting
  const six = resolveCrs('EPSG:4508'); // CGCS2000 6° CM 111°E, no zone number

  it('names the zone number an easting carries that the CRS does not expect, and the zone CRS', () => {
    expect(explainCrsMismatch(39_500_000, 4_000_000, cm117)).toMatch(/starts with zone number 39, .*EPSG:4527\)$/);
    expect(explainCrsMismatch(20_500_000, 4_000_000, six)).toMatch(/zone number 20, .*EPSG:4498\)$/);
    // A number outside both series is still named, without a code.
    expect(explainCrsMismatch(12_500_000, 4_000_000, cm117)).toMatch(/zone number 12, which this CRS does not expect: use the zone's CRS with the zone number in the false easting$/);
  });

  it('names an easting without the zone number the CRS expects, and the CRS without it', () => {
    expect(explainCrsMismatch(500_000, 4_000_000, zone39)).toBe('the easting 500000 has no zone number in front, which this CRS expects: use the CRS without it (CGCS2000 CM 117E: EPSG:4548)');
  });

  it('names swapped axes', () => {
    expect(explainCrsMismatch(4_000_000, 500_000, cm117)).toBe('x 4000000 looks like a northing and y 500000 like an easting: the axes are swapped');
  });

  it('says nothing when nothing stands out, or the CRS is not transverse Mercator', () => {
    expect(explainCrsMismatch(500_000, 4_000_000, cm117)).toBeNull();
    expect(explainCrsMismatch(Number.NaN, 4_000_000, cm117)).toBeNull();
    expect(explainCrsMismatch(39_500_000, 4_000_000, resolveCrs('EPSG:4490'))).toBeNull();
  });
});
