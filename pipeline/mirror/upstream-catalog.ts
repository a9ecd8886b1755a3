import { z } from 'zod';
import { formatPath } from '../../src/config/load-config.js';
import type { LayerStyle, VersionMeta } from '../../src/domain/catalog.js';
import { LAYER_ID_PATTERN } from '../../src/domain/layer-id.js';
import { parseVersionTag } from '../../src/domain/version-tag.js';
import type { DiffEntry } from '../../src/store/tile-store.js';
import { MirrorError } from './mirror-error.js';
import type { UpstreamClient } from './upstream-client.js';

/*
 * What a mirror reads from its upstream: the catalog, a version's TileJSON and a
 * diff. Everything is validated, since the upstream is another machine: an answer
 * that is not what the API promises is a `bad-response`, never a crash or a bad row.
 */

const versionTag = z.string().refine((v) => parseVersionTag(v) !== null, 'a version tag like 1.2.0');

const styleSchema = z.object({
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/),
  fillOpacity: z.number().min(0).max(1),
  lineWidth: z.number().positive().max(20),
  colorBy: z.literal('DLBM').optional(),
  dashed: z.boolean().optional(),
});

const upstreamVersionSchema = z.object({
  version: versionTag,
  publishedAt: z.string().min(1).max(64).refine((s) => !Number.isNaN(Date.parse(s)), 'a date'),
  tiles: z.number().int().min(0),
  bytes: z.number().int().min(0),
});

const upstreamLayerSchema = z.object({
  id: z.string().regex(LAYER_ID_PATTERN),
  title: z.string().max(500),
  version: versionTag.nullable(),
  versions: z.array(upstreamVersionSchema),
  attribution: z.string().max(2000).optional(),
  /** Absent on an upstream that predates mirroring: the layer is then the upstream's own. */
  origin: z.string().regex(LAYER_ID_PATTERN).optional(),
  style: styleSchema.optional(),
});

const catalogSchema = z.object({
  node: z.object({ id: z.string().regex(LAYER_ID_PATTERN), title: z.string() }),
  layers: z.array(upstreamLayerSchema),
});

/** One version as the upstream lists it. */
export type UpstreamVersion = z.infer<typeof upstreamVersionSchema>;

/** One layer of the upstream's catalog, with its origin resolved. */
export interface UpstreamLayer extends Omit<z.infer<typeof upstreamLayerSchema>, 'origin' | 'style'> {
  origin: string;
  style: LayerStyle | undefined;
}

/** The upstream's catalog. */
export interface UpstreamCatalog {
  node: { id: string; title: string };
  layers: UpstreamLayer[];
}

/** GET /catalog, validated. */
export async function fetchCatalog(client: UpstreamClient, signal?: AbortSignal): Promise<UpstreamCatalog> {
  const doc = await client.getJson('/catalog', { signal });
  const parsed = catalogSchema.safeParse(doc);
  if (!parsed.success) throw new MirrorError('bad-response', { upstream: client.baseUrl }, `/catalog: ${firstIssue(parsed.error.issues)}`);
  const node = parsed.data.node;
  return {
    node,
    layers: parsed.data.layers.map((l) => ({ ...l, origin: l.origin ?? node.id, style: l.style })),
  };
}

const tileJsonSchema = z.object({
  version: versionTag,
  minzoom: z.number().int().min(0).max(30),
  maxzoom: z.number().int().min(0).max(30),
  bounds: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  center: z.tuple([z.number(), z.number(), z.number()]),
  vector_layers: z.array(z.object({
    id: z.string().min(1).max(200),
    fields: z.record(z.string(), z.enum(['String', 'Number', 'Boolean'])),
  })).min(1),
  'plantiles:geometry': z.enum(['polygon', 'line', 'point']),
  'plantiles:features': z.number().int().min(0),
});

/** The version's metadata, read back from its TileJSON (which carries every field of VersionMeta). */
export async function fetchVersionMeta(client: UpstreamClient, layer: string, version: string): Promise<VersionMeta> {
  const path = `/tiles/${layer}@${version}.json`;
  const res = await client.get(path, { headers: { accept: 'application/json' } });
  if (res.status === 404 || res.status === 410) {
    throw new MirrorError('version-gone', { upstream: client.baseUrl, layer, version }, `the upstream no longer serves this version (${res.status})`);
  }
  if (res.status !== 200) throw new MirrorError('bad-response', { upstream: client.baseUrl, layer, version }, `GET ${path} answered ${res.status}`);
  let doc: unknown;
  try {
    doc = JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new MirrorError('bad-response', { upstream: client.baseUrl, layer, version }, 'TileJSON is not JSON');
  }
  const parsed = tileJsonSchema.safeParse(doc);
  if (!parsed.success) throw new MirrorError('bad-response', { upstream: client.baseUrl, layer, version }, `TileJSON: ${firstIssue(parsed.error.issues)}`);
  const t = parsed.data;
  const vl = t.vector_layers[0] as (typeof t.vector_layers)[number];
  return {
    minzoom: t.minzoom, maxzoom: t.maxzoom, bounds: t.bounds, center: t.center,
    geometryKind: t['plantiles:geometry'], vectorLayer: vl.id, fields: vl.fields, featureCount: t['plantiles:features'],
  };
}

const HASH = /^[0-9a-f]{32}$/;

/** GET the diff from `from` ("0.0.0" = from nothing) to `to`, parsed and checked line by line. */
export async function fetchDiff(client: UpstreamClient, layer: string, to: string, from: string): Promise<DiffEntry[]> {
  const path = `/tiles/${layer}@${to}/diff/${from}`;
  const ctx = { upstream: client.baseUrl, layer, version: to };
  const res = await client.get(path, { headers: { accept: 'application/x-ndjson' } });
  if (res.status === 404 || res.status === 410) throw new MirrorError('version-gone', ctx, `no diff from ${from} (${res.status})`);
  if (res.status !== 200) throw new MirrorError('bad-response', ctx, `GET ${path} answered ${res.status}`);
  const entries: DiffEntry[] = [];
  for (const line of res.body.toString('utf8').split('\n')) {
    if (line === '') continue;
    entries.push(parseDiffLine(line, ctx));
  }
  return entries;
}

function parseDiffLine(line: string, ctx: { upstream: string; layer: string; version: string }): DiffEntry {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new MirrorError('bad-response', ctx, `diff line is not JSON: ${line.slice(0, 80)}`);
  }
  const e = v as { z?: unknown; x?: unknown; y?: unknown; hash?: unknown; deleted?: unknown };
  const z = e.z, x = e.x, y = e.y;
  const okCoord = Number.isInteger(z) && Number.isInteger(x) && Number.isInteger(y)
    && (z as number) >= 0 && (z as number) <= 30 && (x as number) >= 0 && (y as number) >= 0
    && (x as number) < 2 ** (z as number) && (y as number) < 2 ** (z as number);
  if (!okCoord) throw new MirrorError('bad-response', ctx, `diff line has no valid z/x/y: ${line.slice(0, 80)}`);
  if (e.deleted === true) return { z: z as number, x: x as number, y: y as number, deleted: true };
  if (typeof e.hash !== 'string' || !HASH.test(e.hash)) throw new MirrorError('bad-response', ctx, `diff line has no valid hash: ${line.slice(0, 80)}`);
  return { z: z as number, x: x as number, y: y as number, hash: e.hash };
}

/** The first problem of an upstream document, with the field it is in (`layers[2].versions[0].tiles: …`). */
function firstIssue(issues: readonly z.core.$ZodIssue[]): string {
  const issue = issues[0];
  if (!issue) return 'invalid';
  const where = formatPath(issue.path);
  return where ? `${where}: ${issue.message}` : issue.message;
}
