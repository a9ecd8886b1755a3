import cron from 'node-cron';
import { z } from 'zod';
import { LAYER_ID_PATTERN } from '../domain/layer-id.js';
import { upstreamUrlProblem } from '../domain/upstream-url.js';
import { zoomRangeOf } from '../domain/zoom-range.js';

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

/** A record keyed by zoom ranges that do not overlap. */
function zoomRecord<T extends z.ZodType>(value: T) {
  return z
    .record(z.string().refine((k) => zoomRangeOf(k) !== null, 'a zoom "12" or a zoom range "0-9" (0-30, low-high)'), value)
    .refine((r) => !rangesOverlap(Object.keys(r)), 'zoom ranges overlap');
}

/** One value for every zoom, or a record of zoom ranges (zooms it does not name take the default). */
function perZoom<T extends z.ZodType>(value: T) {
  return z.union([value, zoomRecord(value)], { error: 'one value, or zoom ranges and values like {"0-9": 8, "10-14": 3}' });
}

function rangesOverlap(keys: string[]): boolean {
  const ranges = keys.map(zoomRangeOf).filter((r): r is [number, number] => r !== null).sort((a, b) => a[0] - b[0]);
  return ranges.some((r, i) => i > 0 && r[0] <= (ranges[i - 1] as [number, number])[1]);
}

/** One kept attribute: a name, or `{from, to}` to publish a source attribute under another name. */
const fieldItem = z.union([z.string().min(1), z.strictObject({ from: z.string().min(1), to: z.string().min(1) })]);

/** `fields`: a list of names and `{from, to}` items, or a map from source name to published name; read as ordered mappings. */
const fieldsSchema = z
  .union([z.array(fieldItem), z.record(z.string().min(1), z.string().min(1))], { error: 'a list of attribute names (or {from, to}), or a map {source name: published name}' })
  .transform((spec) => (Array.isArray(spec) ? spec.map((f) => (typeof f === 'string' ? { from: f, to: f } : f)) : Object.entries(spec).map(([from, to]) => ({ from, to }))))
  .refine((list) => new Set(list.map((m) => m.to)).size === list.length, 'two attributes are published under the same name');

/** What happens to a feature with a problem: the publish fails, the feature is left out, or it is kept with a warning. */
const invalidPolicy = z.enum(['reject', 'skip', 'warn']);
/** Geometry that cannot be tiled and mixed geometry types cannot be kept: reject or skip only. */
const dropPolicy = z.enum(['reject', 'skip'], { error: 'reject or skip (such a feature cannot be kept)' });

/** `onInvalid`: one policy for every problem class, or one per class. */
const onInvalidSchema = z.union([
  invalidPolicy,
  z.strictObject({ geometry: dropPolicy.optional(), mixed: dropPolicy.optional(), topology: invalidPolicy.optional(), identity: invalidPolicy.optional(), attributes: invalidPolicy.optional() }),
], { error: 'reject, skip or warn, or per class {geometry, mixed, topology, identity, attributes} (geometry and mixed: reject or skip only)' });

const layerSchema = z.strictObject({
  id: z.string().regex(LAYER_ID_PATTERN, 'letters, digits, _ . - (up to 64), starting with a letter or digit'),
  title: z.string().min(1).optional(),
  /** Source file, relative to the config file's folder. */
  source: z.string().min(1),
  /** CRS of the source, e.g. EPSG:4548; else from .prj or the file. */
  crs: z.union([z.string().min(1), z.number().int().positive().transform(String)]).optional(),
  /** DBF text encoding; else .cpg, else detected. */
  encoding: z.string().min(1).optional(),
  /** Attribute holding each feature's stable identity. */
  idField: z.string().min(1).optional(),
  minzoom: z.number().int().min(0).max(30).default(0),
  maxzoom: z.number().int().min(0).max(30).default(14),
  /** Attributes to keep, in this order, optionally renamed; default all as they are. */
  fields: fieldsSchema.optional(),
  /** Per problem class: reject (fail the publish), skip (leave the feature out) or warn (keep it). */
  onInvalid: onInvalidSchema.optional(),
  /** Most vertices one feature may have; a larger one is a geometry problem. */
  maxVertices: z.number().int().min(4).optional(),
  /** The feature table of a GeoPackage, or the Shapefile inside a zip, when there are several. */
  sourceLayer: z.string().min(1).optional(),
  /** geojson-vt simplification tolerance in tile units (of 4096); one value, or per zoom range. */
  tolerance: perZoom(z.number().min(0).max(64)).default(3),
  /** Tile buffer in tile units (of 4096); one value, or per zoom range. */
  buffer: perZoom(z.number().int().min(0).max(1024)).default(64),
  /** Attribute thinning: the attributes kept at these zooms (instead of `fields`), e.g. {"0-11": [DLBM]}. */
  fieldsByZoom: zoomRecord(z.array(z.string().min(1))).optional(),
  /** Tile-size budget, gzipped bytes; a tile over it is simplified further, or its smallest features dropped. */
  maxTileBytes: z.number().int().min(1024).default(512_000),
  /** "never": every feature is kept at every zoom of the range (statutory layers); "smallest": the budget may drop the smallest. */
  drop: z.enum(['smallest', 'never']).default('smallest'),
  attribution: z.string().optional(),
  style: styleSchema.default(() => styleSchema.parse({})),
}).transform(({ fields, ...layer }) => ({
  ...layer,
  // `fields` is the published names (what tiling selects); `fieldMap` says where each comes from.
  ...(fields ? { fields: fields.map((m) => m.to), fieldMap: fields } : {}),
}));

const tokenSchema = z.strictObject({
  name: z.string().min(1),
  /** Environment variable holding the secret (secrets never live in the file). */
  env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
  layers: z.array(layerPattern).min(1).default(['*']),
});

const mirrorSchema = z.strictObject({
  upstream: z.string().superRefine((text, ctx) => {
    const problem = upstreamUrlProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  layers: z.array(layerPattern).default(['*']),
  prefix: z.string().regex(/^[A-Za-z0-9_.-]{0,32}$/).default(''),
  /** Tile requests in flight at once (over keep-alive connections). */
  concurrency: z.number().int().min(1).max(64).default(8),
  /** Seconds between /changes polls when the upstream's /events is unavailable. */
  pollSeconds: z.number().min(0.1).max(3600).default(5),
  /** Longest wait, seconds, between retries while the upstream is down (backoff with jitter). */
  retryMaxSeconds: z.number().min(0.1).max(3600).default(30),
});

/** One entry of `mirrors`: an upstream node to follow. */
export type MirrorConfig = z.infer<typeof mirrorSchema>;

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
    schedule: z
      .strictObject({
        scan: z.string().optional().refine((s) => !s || cron.validate(s), { error: (issue) => `"${String(issue.input)}" is not a valid cron expression` }),
        /**
         * Whether this process runs publish jobs (default true). A reader beside a writer on one
         * data dir sets false: it starts no publish threads and no scan, and refuses admin
         * publishes and uploads (409), which belong to the writer.
         */
        runJobs: z.boolean().default(true),
        /** Publish jobs that may run at once across layers (never two for one layer). */
        concurrency: z.number().int().min(1).max(16).default(1),
        /** Tiling threads of each publish job; default: the cores beyond one for serving and one for the job's own thread. */
        tilingThreads: z.number().int().min(0).max(64).optional(),
        /** Nice level of publish threads (Linux; default 19): serving, at 0, gets the CPU first. */
        nice: z.number().int().min(0).max(19).optional(),
      })
      .default({ concurrency: 1, runJobs: true }),
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
