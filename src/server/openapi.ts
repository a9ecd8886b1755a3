/**
 * The OpenAPI 3.1 description of the HTTP API (SPEC §3.3), served at /openapi.json.
 * A test walks it against the routes the app mounts, both ways.
 */

type Schema = Record<string, unknown>;
type Operation = Record<string, unknown>;

const error: Schema = {
  type: 'object', required: ['error', 'detail'],
  properties: { error: { type: 'string' }, detail: {} },
};
const event: Schema = {
  type: 'object', required: ['seq', 'layer', 'version', 'previous', 'publishedAt', 'changedTiles'],
  properties: {
    seq: { type: 'integer' }, layer: { type: 'string' }, version: { type: 'string' }, previous: { type: ['string', 'null'] },
    publishedAt: { type: 'string', format: 'date-time' }, changedTiles: { type: 'integer' }, kind: { type: 'string' },
  },
};
const tileJson: Schema = {
  type: 'object', required: ['tilejson', 'tiles', 'minzoom', 'maxzoom', 'vector_layers'],
  properties: {
    tilejson: { const: '3.0.0' }, version: { type: 'string' }, tiles: { type: 'array', items: { type: 'string' } },
    minzoom: { type: 'integer' }, maxzoom: { type: 'integer' }, bounds: { type: 'array', items: { type: 'number' } },
    center: { type: 'array', items: { type: 'number' } }, attribution: { type: 'string' }, vector_layers: { type: 'array', items: { type: 'object' } },
  },
};
const job: Schema = {
  type: 'object', required: ['id', 'layer', 'state'],
  properties: {
    id: { type: 'string' }, layer: { type: 'string' }, state: { enum: ['queued', 'running', 'succeeded', 'unchanged', 'failed'] },
    progress: { type: 'number' }, stage: { type: ['string', 'null'] }, version: { type: ['string', 'null'] }, error: { type: ['string', 'null'] },
  },
};

const json = (schema: Schema, description = 'OK'): Schema => ({ description, content: { 'application/json': { schema } } });
const errorResponse = (description: string): Schema => json(error, description);
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

const tilesetParam = {
  name: 'tileset', in: 'path', required: true, example: 'farmland',
  description: 'A layer id, `layer@version` (`@` may be sent as `%40`), or several of either joined by commas (a composite)',
  schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(@\\d+\\.\\d+\\.\\d+)?(,[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(@\\d+\\.\\d+\\.\\d+)?)*$' },
};
const coordParams = ['z', 'x', 'y'].map((name) => ({
  name, in: 'path', required: true, example: name === 'z' ? 12 : 0, schema: { type: 'integer', minimum: 0, maximum: name === 'z' ? 30 : undefined },
}));
const layerParam = { name: 'layer', in: 'path', required: true, example: 'farmland', schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' } };
const admin = { tags: ['admin'], security: [{ bearer: [] }] };
const adminErrors = { 401: errorResponse('no valid token'), 403: errorResponse('the token does not cover the layer') };
const layerFilter = { name: 'layer', in: 'query', required: false, description: 'Only this layer', schema: layerParam.schema };
const badLayer = { 400: errorResponse('malformed layer id') };
const notRunningJobs = { 409: errorResponse('this process runs no publish jobs (schedule.runJobs: false)') };
const limitParam = (max: number, fallback: number): Record<string, unknown> => ({
  name: 'limit', in: 'query', required: false, description: `Most entries (default ${fallback})`, schema: { type: 'integer', minimum: 1, maximum: max },
});
/** Routes that build absolute links from the request answer 400 to a Host they cannot use. */
const badHost = { 400: errorResponse('malformed Host or X-Forwarded-Host (links are built from it)') };
const accepted = { description: 'the job was queued', headers: { Location: { schema: { type: 'string' } } }, content: { 'application/json': { schema: ref('Job') } } };

function tileOperation(operationId: string): Operation {
  return {
    operationId, tags: ['tiles'],
    summary: 'A vector tile of the current version (short max-age) or of a named version (immutable); a composite concatenates layers',
    parameters: [tilesetParam, ...coordParams, { name: 'If-None-Match', in: 'header', schema: { type: 'string' } }],
    responses: {
      200: {
        description: 'the tile; gzip when accepted', headers: { ETag: { schema: { type: 'string' } }, 'X-Tile-Version': { schema: { type: 'string' } } },
        content: { 'application/vnd.mapbox-vector-tile': { schema: { type: 'string', format: 'binary' } } },
      },
      204: { description: 'no data in this tile (inside the zoom range)' },
      304: { description: 'If-None-Match matched' },
      400: errorResponse('malformed coordinate, version or layer id'),
      404: errorResponse('unknown layer or version, or zoom outside the range'),
      410: errorResponse('version removed by retention'),
    },
  };
}

/** The documented paths and their operations (also what a 405 names as allowed). */
export const API_PATHS: Record<string, Record<string, Operation>> = {
  '/': { get: { operationId: 'viewer', tags: ['viewer'], summary: 'The map viewer', responses: { 200: { description: 'HTML', content: { 'text/html': {} } } } } },
  '/catalog': { get: { operationId: 'getCatalog', tags: ['catalog'], summary: 'Every layer with its current and past versions', responses: { 200: json(ref('Catalog')), ...badHost } } },
  '/style.json': { get: { operationId: 'getStyle', tags: ['catalog'], summary: 'MapLibre style of every layer', responses: { 200: json({ type: 'object', required: ['version', 'sources', 'layers'] }), ...badHost } } },
  '/tiles/{tileset}.json': {
    get: {
      operationId: 'getTileJson', tags: ['tiles'], summary: 'TileJSON 3.0.0; `tiles` names the versioned URL (for a composite, every layer pinned)',
      parameters: [tilesetParam],
      responses: { 200: json(ref('TileJSON')), 400: errorResponse('malformed tileset, or malformed Host or X-Forwarded-Host'), 404: errorResponse('unknown layer or version'), 410: errorResponse('version removed by retention') },
    },
  },
  '/tiles/{tileset}/{z}/{x}/{y}.mvt': { get: tileOperation('getTile') },
  '/tiles/{tileset}/{z}/{x}/{y}.pbf': { get: tileOperation('getTilePbf') },
  '/tiles/{tileset}/diff/{from}': {
    get: {
      operationId: 'getDiff', tags: ['tiles'], summary: 'NDJSON of the tiles that differ from `from` to the version in `tileset` (`layer@to`)',
      parameters: [{ ...tilesetParam, example: 'farmland@1.1.0' }, { name: 'from', in: 'path', required: true, example: '1.0.0', schema: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+$' } }],
      responses: {
        200: { description: 'one JSON object per line: {z,x,y,hash} or {z,x,y,deleted:true}', content: { 'application/x-ndjson': { schema: ref('DiffEntry') } } },
        400: errorResponse('malformed'), 404: errorResponse('unknown layer or version'), 410: errorResponse('version removed by retention'),
      },
    },
  },
  '/events': {
    get: {
      operationId: 'getEvents', tags: ['changes'], summary: 'Server-Sent Events: one `publish` event per new current version; `id` is the sequence number',
      parameters: [{ name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } }, { name: 'lastEventId', in: 'query', schema: { type: 'integer' } }],
      responses: { 200: { description: 'the event stream', content: { 'text/event-stream': {} } }, 400: errorResponse('malformed Last-Event-ID') },
    },
  },
  '/changes': {
    get: {
      operationId: 'getChanges', tags: ['changes'], summary: 'The change events after `since`, for pollers',
      parameters: [{ name: 'since', in: 'query', example: 0, schema: { type: 'integer', minimum: 0 } }],
      responses: {
        200: json({ type: 'object', required: ['events', 'last'], properties: { events: { type: 'array', items: ref('ChangeEvent') }, last: { type: 'integer' } } }),
        400: errorResponse('malformed since'),
      },
    },
  },
  '/healthz': { get: { operationId: 'health', tags: ['operations'], summary: 'Liveness', responses: { 200: json({ type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }) } } },
  '/metrics': { get: { operationId: 'metrics', tags: ['operations'], summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition', content: { 'text/plain': {} } } } } },
  '/openapi.json': { get: { operationId: 'openapi', tags: ['operations'], summary: 'This document', responses: { 200: json({ type: 'object', required: ['openapi', 'paths'] }), ...badHost } } },
  '/ol.html': { get: { operationId: 'olViewer', tags: ['viewer'], summary: 'The same layers drawn by OpenLayers', responses: { 200: { description: 'HTML', content: { 'text/html': {} } } } } },
  '/mirrors': {
    get: {
      operationId: 'getMirrors', tags: ['operations'], summary: 'Each upstream this node follows: state, lag, last error',
      responses: { 200: json({ type: 'object', required: ['node', 'mirrors'], properties: { node: { type: 'string' }, mirrors: { type: 'array', items: { type: 'object' } } } }) },
    },
  },
  '/admin': { get: { operationId: 'adminPage', tags: ['admin'], summary: 'The admin page (public HTML; its API calls carry the token)', responses: { 200: { description: 'HTML', content: { 'text/html': {} } } } } },
  '/admin/layers/{layer}/publish': {
    post: { operationId: 'publishLayer', ...admin, summary: 'Queue a publish', parameters: [layerParam], responses: { 202: accepted, ...badLayer, ...adminErrors, 404: errorResponse('unknown layer'), ...notRunningJobs } },
  },
  '/admin/layers/{layer}/source': {
    put: {
      operationId: 'uploadSource', ...admin, summary: 'Upload a new source (GeoJSON, or a zipped Shapefile), then publish it', parameters: [layerParam],
      requestBody: { required: true, content: { 'application/geo+json': {}, 'application/json': {}, 'application/zip': {} } },
      responses: { 202: accepted, ...badLayer, ...adminErrors, 404: errorResponse('unknown layer'), ...notRunningJobs, 413: errorResponse('over the size limit'), 415: errorResponse('another content type') },
    },
  },
  '/admin/layers/{layer}/rollback': {
    post: {
      operationId: 'rollbackLayer', ...admin, summary: 'Make a live version current again', parameters: [layerParam],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['version'], properties: { version: { type: 'string' } } } } } },
      responses: {
        200: json({ type: 'object', required: ['layer', 'version', 'previous'] }), 400: errorResponse('malformed layer id or body, or a body that does not decompress'), ...adminErrors,
        404: errorResponse('unknown layer or version'), 410: errorResponse('version removed by retention'),
        413: errorResponse('a body over 16 KiB'), 415: errorResponse('an unsupported charset or content encoding'),
      },
    },
  },
  '/admin/layers': {
    get: {
      operationId: 'adminLayers', ...admin, summary: 'The layers the token covers, with sources, versions and jobs', parameters: [layerFilter],
      responses: { 200: json({ type: 'object', required: ['layers'] }), 400: errorResponse('malformed layer id'), ...adminErrors },
    },
  },
  '/admin/audit': {
    get: {
      operationId: 'adminAudit', ...admin, summary: 'The audit log of admin actions, newest first', parameters: [layerFilter, limitParam(1000, 200)],
      responses: { 200: json({ type: 'object', required: ['entries'] }), 400: errorResponse('malformed layer id or limit'), ...adminErrors },
    },
  },
  '/admin/events': {
    get: {
      operationId: 'adminEvents', ...admin, summary: 'Server-Sent Events for the admin page: `job` progress and `publish` events of the covered layers', parameters: [layerFilter],
      responses: { 200: { description: 'the event stream', content: { 'text/event-stream': {} } }, 400: errorResponse('malformed layer id'), ...adminErrors },
    },
  },
  '/admin/jobs': {
    get: {
      operationId: 'listJobs', ...admin, summary: 'Jobs, newest first', parameters: [layerFilter, limitParam(1000, 100)],
      responses: { 200: json({ type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: ref('Job') } } }), 400: errorResponse('malformed layer id or limit'), ...adminErrors },
    },
  },
  '/admin/jobs/{id}': {
    get: {
      operationId: 'getJob', ...admin, summary: 'One job', parameters: [{ name: 'id', in: 'path', required: true, example: '1', schema: { type: 'string' } }],
      responses: { 200: json(ref('Job')), 400: errorResponse('a job id is a positive integer'), ...adminErrors, 404: errorResponse('unknown job') },
    },
  },
};

const schemas: Record<string, Schema> = {
  Error: error,
  ChangeEvent: event,
  TileJSON: tileJson,
  Job: job,
  DiffEntry: {
    type: 'object', required: ['z', 'x', 'y'],
    properties: { z: { type: 'integer' }, x: { type: 'integer' }, y: { type: 'integer' }, hash: { type: 'string' }, deleted: { const: true } },
  },
  Catalog: {
    type: 'object', required: ['node', 'layers'],
    properties: {
      node: { type: 'object', required: ['id', 'title'] },
      layers: {
        type: 'array',
        items: {
          type: 'object', required: ['id', 'title', 'version', 'versions', 'bounds', 'minzoom', 'maxzoom', 'tilejson'],
          properties: { versions: { type: 'array', items: { type: 'object', required: ['version', 'publishedAt', 'tiles', 'bytes'] } } },
        },
      },
    },
  },
};

/** The OpenAPI document; `serverUrl` is the absolute base URL clients use. */
export function buildOpenApi(serverUrl: string, title: string, version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: `plantiles — ${title}`, version, description: 'Versioned vector tiles of a territorial spatial planning one map. Errors are {"error", "detail"}.' },
    servers: [{ url: serverUrl }],
    tags: ['tiles', 'catalog', 'changes', 'operations', 'viewer', 'admin'].map((name) => ({ name })),
    paths: API_PATHS,
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
