import { z } from 'zod';
import { LAYER_ID_PATTERN } from '../domain/layer-id.js';

/** Glob-like layer patterns ("*", "gaotang-*") used by tokens and mirrors. */
const layerPattern = z.string().regex(/^[A-Za-z0-9_.*-]{1,64}$/, 'a layer id or a pattern with *');

const styleSchema = z.strictObject({
  /** Fill or line colour, CSS hex. */
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #3a7d44').default('#3a7d44'),
  /** Polygon fill opacity. */
  fillOpacity: z.number().min(0).max(1).default(0.45),
  /** Outline or line width in pixels. */
  lineWidth: z.number().positive().max(20).default(1),
  /** Colour polygons by land-use code (DLBM). */
  colorBy: z.literal('DLBM').optional(),
  dashed: z.boolean().optional(),
});

const layerSchema = z.strictObject({
  id: z.string().regex(LAYER_ID_PATTERN, 'letters, digits, _ . - (up to 64), starting with a letter or digit'),
  title: z.string().min(1).optional(),
  /** Source file, relative to the config file's folder. */
  source: z.string().min(1),
  /** CRS of the source, e.g. EPSG:4548; else from .prj or the file. */
  crs: z.string().min(1).optional(),
  /** DBF text encoding; else .cpg, else detected. */
  encoding: z.string().min(1).optional(),
  /** Attribute holding each feature's stable identity. */
  idField: z.string().min(1).optional(),
  minzoom: z.number().int().min(0).max(30).default(0),
  maxzoom: z.number().int().min(0).max(30).default(14),
  /** Attributes to keep, in this order; default all. */
  fields: z.array(z.string().min(1)).optional(),
  /** geojson-vt simplification tolerance in tile pixels (of 4096). */
  tolerance: z.number().min(0).max(64).default(3),
  /** Tile buffer in tile units (of 4096). */
  buffer: z.number().int().min(0).max(1024).default(64),
  attribution: z.string().optional(),
  style: styleSchema.default(() => styleSchema.parse({})),
});

const tokenSchema = z.strictObject({
  name: z.string().min(1),
  /** Environment variable holding the secret (secrets never live in the file). */
  env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
  layers: z.array(layerPattern).min(1).default(['*']),
});

const mirrorSchema = z.strictObject({
  upstream: z.url(),
  layers: z.array(layerPattern).default(['*']),
  prefix: z.string().regex(/^[A-Za-z0-9_.-]{0,32}$/).default(''),
});

/** The whole configuration file (SPEC §3.1). Unknown keys are errors. */
export const configSchema = z
  .strictObject({
    node: z
      .strictObject({
        id: z.string().regex(LAYER_ID_PATTERN).default('plantiles'),
        title: z.string().min(1).default('plantiles'),
        attribution: z.string().optional(),
      })
      .default({ id: 'plantiles', title: 'plantiles' }),
    server: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        publicUrl: z.url().optional(),
        trustProxy: z.boolean().default(false),
        /** max-age of current (unversioned) tiles and TileJSON, seconds. */
        tileMaxAge: z.number().int().min(0).default(60),
        cors: z.boolean().default(true),
      })
      .default({ host: '127.0.0.1', port: 8080, trustProxy: false, tileMaxAge: 60, cors: true }),
    storage: z
      .strictObject({
        dir: z.string().min(1).default('./tiles'),
        keepVersions: z.number().int().min(1).default(20),
      })
      .default({ dir: './tiles', keepVersions: 20 }),
    schedule: z.strictObject({ scan: z.string().optional() }).default({}),
    admin: z
      .strictObject({
        tokens: z.array(tokenSchema).default([]),
        maxUploadBytes: z.number().int().positive().default(512 * 1024 * 1024),
      })
      .default({ tokens: [], maxUploadBytes: 512 * 1024 * 1024 }),
    layers: z.array(layerSchema).default([]),
    mirrors: z.array(mirrorSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.layers.forEach((layer, i) => {
      if (seen.has(layer.id)) ctx.addIssue({ code: 'custom', path: ['layers', i, 'id'], message: `duplicate layer id "${layer.id}"` });
      seen.add(layer.id);
      if (layer.minzoom > layer.maxzoom) {
        ctx.addIssue({ code: 'custom', path: ['layers', i, 'minzoom'], message: `minzoom ${layer.minzoom} is above maxzoom ${layer.maxzoom}` });
      }
    });
  });

/** The configuration as written in the file, after defaults. */
export type RawConfig = z.infer<typeof configSchema>;
/** One layer's configuration. */
export type LayerConfig = z.infer<typeof layerSchema>;
