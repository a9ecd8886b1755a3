import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishLayer } from '../../pipeline/publish/publish-layer.js';
import { configSchema } from '../../src/config/schema.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { decodeTile } from '../helpers/mvt.js';
import { validateMvt } from '../helpers/mvt-validate.js';
import { makeTempDir, removeDir } from '../helpers/test-node.js';

// Golden cases, one folder each under test/golden/tiling: input.geojson and layer.json (a layer's
// config) beside expected.json, the decoded tiles and budget notes. UPDATE_GOLDEN=1 rewrites expected.json.
const GOLDEN = path.join(import.meta.dirname, '../golden/tiling');
const update = process.env.UPDATE_GOLDEN === '1';

describe('golden tiles', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeDir(dir));

  for (const name of readdirSync(GOLDEN).sort()) {
    const folder = path.join(GOLDEN, name);
    it(`${name}: decoded tiles equal expected.json`, async () => {
      const raw = JSON.parse(readFileSync(path.join(folder, 'layer.json'), 'utf8')) as Record<string, unknown>;
      const layer = configSchema.parse({ layers: [{ ...raw, source: path.join(folder, String(raw.source)) }] }).layers[0];
      if (!layer) throw new Error('no layer');
      const store = openSqliteStore(path.join(dir, name));
      try {
        const result = await publishLayer(layer, { store, keepVersions: 1, defaultAttribution: 't', workers: 0 });
        const vid = store.getLayer(layer.id)?.currentVid ?? 0;
        const tiles: Record<string, unknown> = {};
        for (const t of store.iterateTiles(vid)) {
          const plain = gunzipSync(t.gz);
          expect(validateMvt(plain, { buffer: 64 })).toEqual([]);
          tiles[`${t.z}/${t.x}/${t.y}`] = decodeTile(plain);
        }
        const actual = { tiles, budget: result.budget.adjusted };
        const file = path.join(folder, 'expected.json');
        if (update) writeFileSync(file, `${JSON.stringify(actual, null, 1)}\n`);
        expect(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1 to write it`).toBe(true);
        expect(actual).toEqual(JSON.parse(readFileSync(file, 'utf8')));
      } finally {
        store.close();
      }
    });
  }
});
