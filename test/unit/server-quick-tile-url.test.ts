import { describe, expect, it } from 'vitest';
import { parseTilePath } from '../../src/domain/tile-path.js';
import { quickTileAddress } from '../../src/server/quick-tile-url.js';

/** The general parser's reading of a URL, as a quick address (or null where it throws or reads another kind). */
function general(url: string): unknown {
  try {
    const p = parseTilePath(url.slice('/tiles/'.length));
    return p.kind === 'tile' ? { layer: p.layer, version: p.version, ...p.coord } : null;
  } catch {
    return null;
  }
}

// The fast path's reader must accept only what the general parser accepts, and read it the same way.
describe('quickTileAddress', () => {
  it('reads plain tile URLs as the general parser does', () => {
    for (const url of [
      '/tiles/farmland@1.0.0/14/13441/6436.mvt', '/tiles/farmland/0/0/0.pbf', '/tiles/a.b-c_d@12.3.45/30/1073741823/0.mvt',
      '/tiles/x/1/1/1.mvt', '/tiles/x@1.0.0/10/1023/1023.pbf',
    ]) {
      expect(quickTileAddress(url, url.length)).toEqual(general(url));
    }
  });

  it('stops at the query', () => {
    const url = '/tiles/farmland@1.0.0/14/3/4.mvt?key=1';
    expect(quickTileAddress(url, url.indexOf('?'))).toEqual({ layer: 'farmland', version: '1.0.0', z: 14, x: 3, y: 4 });
  });

  it('declines, leaving the answer to the general parser, whatever is not a plain in-range tile URL', () => {
    for (const url of [
      '/tiles/farmland/01/0/0.mvt', '/tiles/farmland/1/2/0.mvt', '/tiles/farmland/31/0/0.mvt', '/tiles/farmland/1/-1/0.mvt',
      '/tiles/farmland/1/0/0.png', '/tiles/farmland/1/0/0.MVT', '/tiles/farmland/1/0.mvt', '/tiles/farmland/x/0/0.mvt',
      '/tiles/farmland%401.0.0/1/0/0.mvt', '/tiles/a,b/1/0/0.mvt', '/tiles/a/b/1/0/0.mvt', '/tiles//1/0/0.mvt',
      '/tiles/farmland/1/0/00.mvt', '/tiles/farmland/12345678901/0/0.mvt', '/tiles/farmland/1/0/0.mvt/', '/tiles/f/1/0/.mvt',
    ]) {
      expect(quickTileAddress(url, url.length), url).toBeNull();
    }
  });

  it('leaves the layer and version unchecked for the catalog, which only resolves known ones', () => {
    const url = '/tiles/not a layer!@v1/1/0/0.mvt';
    expect(quickTileAddress(url, url.length)).toEqual({ layer: 'not a layer!', version: 'v1', z: 1, x: 0, y: 0 });
    expect(general(url)).toBeNull();
  });
});
