import path from 'node:path';
import type { LayerConfig } from '../../src/config/schema.js';
import { parseEncodingName } from './decode-text.js';
import { SOURCE_EXTENSION_LIST } from './open-source.js';
import { resolveCrs } from './resolve-crs.js';

/** A layer setting ingest cannot work with, by its key in the config file ("layers[2].crs"). */
export interface LayerConfigProblem {
  key: string;
  message: string;
}

/**
 * What the schema cannot know about each layer, checked when the config is loaded rather
 * than at its first publish: a source format ingest reads (by extension), a CRS it can
 * resolve, a text encoding it decodes.
 */
export function checkLayerConfigs(layers: readonly Pick<LayerConfig, 'source' | 'crs' | 'encoding'>[]): LayerConfigProblem[] {
  const problems: LayerConfigProblem[] = [];
  layers.forEach((layer, i) => {
    const ext = path.extname(layer.source).toLowerCase();
    if (!SOURCE_EXTENSION_LIST.includes(ext)) {
      problems.push({ key: `layers[${i}].source`, message: `"${path.basename(layer.source)}" is not a source plantiles reads (${SOURCE_EXTENSION_LIST.join(' ')})` });
    }
    if (layer.crs !== undefined) {
      try {
        resolveCrs(layer.crs);
      } catch (err) {
        problems.push({ key: `layers[${i}].crs`, message: (err as Error).message });
      }
    }
    if (layer.encoding !== undefined && !parseEncodingName(layer.encoding)) {
      problems.push({ key: `layers[${i}].encoding`, message: `"${layer.encoding}" is not an encoding plantiles reads (GBK, GB18030 or UTF-8, also as CP936, 936, 54936, 65001)` });
    }
  });
  return problems;
}
