import http from 'node:http';
import path from 'node:path';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApi } from '../../src/server/openapi.js';
import { makeParcels, parcelConfig, writeGeojson } from '../helpers/fixtures.js';
import { makeTempDir, removeDir, startTestNode, writeConfig, type TestNode } from '../helpers/test-node.js';

type Json = Record<string, unknown>;
interface Parameter { name: string; in: string; example?: unknown }
interface Operation { operationId: string; parameters?: Parameter[]; responses: Record<string, Json> }
interface Mounted { path: string | RegExp; method: string }

/** The operations of the document, one test case each. */
const doc = buildOpenApi('http://example.test', 'test', '0.0.0') as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Json> } };
const operations = Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).map(([method, op]) => ({ path: p, method, op })));

/** Every route the Express app mounts, walking nested routers. */
function mountedRoutes(app: Express): Mounted[] {
  const out: Mounted[] = [];
  const walk = (stack: unknown[]): void => {
    for (const layer of stack as { route?: { path: string | string[] | RegExp; methods: Record<string, boolean> }; handle?: { stack?: unknown[] } }[]) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) for (const method of Object.keys(layer.route.methods)) out.push({ path: p, method });
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: unknown[] } }).router.stack);
  return out;
}

/** An example URL of a documented path: each path parameter replaced by its example. */
function exampleUrl(p: string, op: Operation): string {
  let url = p;
  for (const param of op.parameters ?? []) if (param.in === 'path') url = url.replace(`{${param.name}}`, String(param.example));
  const query = (op.parameters ?? []).filter((q) => q.in === 'query' && q.example !== undefined).map((q) => `${q.name}=${String(q.example)}`);
  return query.length ? `${url}?${query.join('&')}` : url;
}

/** `:layer` → `{layer}`, trailing slash dropped: an Express path as OpenAPI spells it. */
function openApiPath(p: string): string {
  const templated = p.replace(/:([A-Za-z_]\w*)/g, '{$1}');
  return templated.length > 1 ? templated.replace(/\/$/, '') : templated;
}

/** Checks `value` against the `required` and `type` of a schema, following $refs (enough to catch drift). */
function conforms(value: unknown, schema: Json, where = '$'): string[] {
  const ref = schema.$ref;
  if (typeof ref === 'string') return conforms(value, doc.components.schemas[ref.split('/').pop() ?? ''] ?? {}, where);
  const problems: string[] = [];
  if (schema.type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${where}: not an object`];
    for (const key of (schema.required as string[] | undefined) ?? []) if (!(key in value)) problems.push(`${where}.${key}: missing`);
    for (const [key, sub] of Object.entries((schema.properties as Record<string, Json> | undefined) ?? {})) {
      if (key in value) problems.push(...conforms((value as Json)[key], sub, `${where}.${key}`));
    }
  } else if (schema.type === 'array') {
    if (!Array.isArray(value)) return [`${where}: not an array`];
    value.slice(0, 5).forEach((item, i) => problems.push(...conforms(item, (schema.items as Json | undefined) ?? {}, `${where}[${i}]`)));
  }
  return problems;
}

// /openapi.json describes the routes the app really mounts: every operation answers as documented, every route is documented.
describe('OpenAPI document', () => {
  let dir: string;
  let node: TestNode;
  let mounted: Mounted[];

  beforeAll(async () => {
    dir = makeTempDir();
    writeGeojson(path.join(dir, 'farmland.geojson'), makeParcels());
    const config = parcelConfig('farmland.geojson');
    (config.layers as Json[])[0] = { ...(config.layers as Json[])[0], id: 'farmland', minzoom: 8, maxzoom: 14 };
    node = await startTestNode(writeConfig(dir, config));
    await node.publish('farmland');
    mounted = mountedRoutes(node.server.app);
  });
  afterAll(async () => {
    await node.stop();
    removeDir(dir);
  });

  it('is served as OpenAPI 3.1 with this server\'s URL, unique operation ids and resolvable references', async () => {
    const res = await fetch(`${node.url}/openapi.json`);
    expect(res.status).toBe(200);
    const served = (await res.json()) as { openapi: string; servers: { url: string }[]; paths: Json };
    expect(served.openapi).toBe('3.1.0');
    expect(served.servers[0]?.url).toBe(node.url);
    expect(Object.keys(served.paths)).toEqual(Object.keys(doc.paths));
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const ref of JSON.stringify(served).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)) expect(doc.components.schemas).toHaveProperty(ref[1] as string);
  });

  it('documents every route the app mounts', () => {
    const documented = new Set(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`));
    const missing: string[] = [];
    for (const route of mounted) {
      if (route.path instanceof RegExp) {
        const served = operations.filter((o) => route.method === o.method && (route.path as RegExp).test(exampleUrl(o.path, o.op)));
        if (!served.length) missing.push(`${route.method.toUpperCase()} ${String(route.path)}`);
      } else if (!route.path.startsWith('/vendor/') && !documented.has(`${route.method.toUpperCase()} ${openApiPath(route.path)}`)) {
        missing.push(`${route.method.toUpperCase()} ${route.path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('lists the 400 that routes building links from the Host give to a malformed one', async () => {
    for (const p of ['/catalog', '/style.json', '/tiles/{tileset}.json', '/openapi.json']) {
      const op = doc.paths[p]?.get as Operation;
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(node.url + exampleUrl(p, op), { headers: { host: 'bad host^' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
        req.on('error', reject);
        req.end();
      });
      expect(status, p).toBe(400);
      expect(Object.keys(op.responses), p).toContain('400');
    }
  });

  it.for(operations.map((o) => ({ ...o, name: `${o.method.toUpperCase()} ${o.path}` })))('$name answers with a documented status and shape', async ({ path: p, method, op }, ctx) => {
    // The admin API is documented from SPEC §3.3; a build that does not mount it skips those checks.
    const isMounted = mounted.some((r) => (r.path instanceof RegExp ? r.path.test(exampleUrl(p, op)) : openApiPath(r.path) === p) && r.method === method);
    if (p.startsWith('/admin') && !isMounted) ctx.skip(`${method.toUpperCase()} ${p} is not mounted in this app`);
    const controller = new AbortController();
    const res = await fetch(node.url + exampleUrl(p, op), { method: method.toUpperCase(), signal: controller.signal, headers: { 'accept-encoding': 'gzip' } });
    try {
      expect(Object.keys(op.responses)).toContain(String(res.status));
      const type = res.headers.get('content-type') ?? '';
      if (type.startsWith('text/event-stream')) return;
      const body = await res.text();
      if (res.status === 404) expect(JSON.parse(body)).not.toMatchObject({ error: 'not found' });
      const schema = ((op.responses[String(res.status)]?.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as Json | undefined;
      if (schema) expect(conforms(JSON.parse(body), schema)).toEqual([]);
    } finally {
      controller.abort();
    }
  });
});
