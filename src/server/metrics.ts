import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Job, Jobs } from '../jobs/jobs.js';
import type { CatalogCache } from '../store/catalog-cache.js';
import { RequestStats } from './request-stats.js';

/** The low-cardinality route label of a request: never the raw URL. */
export type RouteLabel =
  | 'tile' | 'composite' | 'tilejson' | 'diff' | 'catalog' | 'style' | 'events' | 'changes'
  | 'healthz' | 'metrics' | 'openapi' | 'mirrors' | 'admin' | 'viewer' | 'other';

/** Classifies a request URL into its route label. */
export function routeOf(url: string): RouteLabel {
  if (url.startsWith('/tiles/')) {
    const end = url.indexOf('?');
    const p = end < 0 ? url : url.slice(0, end);
    if (p.includes('/diff/')) return 'diff';
    if (p.endsWith('.json')) return 'tilejson';
    const slash = p.indexOf('/', 7);
    return p.lastIndexOf(',', slash < 0 ? p.length : slash) > 6 ? 'composite' : 'tile';
  }
  const first = url.split(/[/?]/, 2)[1] ?? '';
  switch (first) {
    case 'catalog': return 'catalog';
    case 'style.json': return 'style';
    case 'events': return 'events';
    case 'changes': return 'changes';
    case 'healthz': return 'healthz';
    case 'metrics': return 'metrics';
    case 'openapi.json': return 'openapi';
    case 'mirrors': return 'mirrors';
    case 'admin': return 'admin';
    case '': case 'index.html': case 'vendor': case 'viewer.js': case 'viewer.css': case 'panel.js': case 'ol.html': case 'ol': return 'viewer';
    default: return 'other';
  }
}

const PUBLISH_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** A finished job's state as the publish histogram's outcome label. */
const OUTCOMES: Partial<Record<Job['state'], 'published' | 'unchanged' | 'failed'>> = { succeeded: 'published', unchanged: 'unchanged', failed: 'failed' };
/** Finished jobs remembered so that each is recorded once (a job is announced again only by a late change). */
const SEEN_JOBS = 1024;

/** Options of the metrics registry. */
export interface MetricsOptions {
  /** Process metrics (CPU, memory, event-loop delay); default on. */
  processMetrics?: boolean;
}

/**
 * The server's Prometheus metrics in a registry of its own (so several servers in
 * one process never share counters): requests by route and status, latency,
 * tiles and bytes served, publish durations, and each layer's current version.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new RequestStats();
  private readonly tiles = new Map<string, number>();
  private readonly bytes = new Map<string, number>();
  private readonly publishes: Histogram<'layer' | 'outcome'>;

  constructor(catalog: CatalogCache | null, options: MetricsOptions = {}) {
    const registers = [this.registry];
    const requests = this.requests;
    new Counter({
      name: 'plantiles_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers,
      collect() {
        this.reset();
        for (const s of requests.series()) this.inc({ route: s.route, status: s.status }, s.count);
      },
    });
    this.registry.registerMetric(requests.histogram('plantiles_http_request_duration_seconds', 'HTTP request latency by route and status'));
    this.countersFrom('plantiles_tiles_served_total', 'Tiles served with data (200) by layer', 'layer', this.tiles);
    this.countersFrom('plantiles_response_bytes_total', 'Response body bytes by route (where the length is known)', 'route', this.bytes);
    this.publishes = new Histogram({ name: 'plantiles_publish_duration_seconds', help: 'Publish durations by layer and outcome', labelNames: ['layer', 'outcome'], buckets: PUBLISH_BUCKETS, registers });
    new Gauge({
      name: 'plantiles_layer_current_version_info', help: 'The current version of each layer (value 1)', labelNames: ['layer', 'version'], registers,
      collect() {
        this.reset();
        if (!catalog) return;
        for (const layer of catalog.list()) {
          const current = layer.versions.find((v) => v.vid === layer.currentVid);
          if (current) this.set({ layer: layer.id, version: current.version }, 1);
        }
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'plantiles_' });
  }

  /**
   * Counts a finished request by route and status, with the seconds it took; the front calls
   * this when its response closes. `known` is the route when the caller already knows it.
   */
  observe(req: IncomingMessage, res: ServerResponse, seconds: number, known: RouteLabel | null = null): void {
    const route = known ?? routeOf(req.url ?? '/');
    this.requests.observe(route, res.statusCode, seconds);
    if (route !== 'tile' && route !== 'composite') {
      const length = Number(res.getHeader('content-length'));
      if (length > 0) add(this.bytes, route, length);
    }
  }

  /** Counts a tile served with data: its layer, and the body bytes sent. */
  tileServed(layer: string, route: 'tile' | 'composite', bytes: number): void {
    add(this.tiles, layer, 1);
    if (bytes > 0) add(this.bytes, route, bytes);
  }

  /** Records how long a publish of `layer` took (followJobs calls this for each job). */
  observePublish(layer: string, seconds: number, outcome: 'published' | 'unchanged' | 'failed' = 'published'): void {
    this.publishes.observe({ layer, outcome }, seconds);
  }

  /**
   * Records every publish job of `jobs` in the publish histogram once it finishes: its
   * layer, its outcome and the seconds from its start to its end. Returns the unsubscribe.
   */
  followJobs(jobs: Pick<Jobs, 'subscribe'>): () => void {
    const seen = new Set<number>();
    return jobs.subscribe((job) => {
      const outcome = OUTCOMES[job.state];
      if (!outcome || !job.startedAt || !job.finishedAt || seen.has(job.id)) return;
      seen.add(job.id);
      if (seen.size > SEEN_JOBS) seen.delete(seen.values().next().value as number);
      this.observePublish(job.layer, Math.max(0, Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000, outcome);
    });
  }

  /** Adds a gauge read at scrape time (e.g. connected SSE clients). */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
  }

  /** Adds a counter read at scrape time from a running total kept elsewhere (name ends in _total). */
  counterFrom(name: string, help: string, read: () => number): void {
    new Counter({ name, help, registers: [this.registry], collect() { this.reset(); this.inc(read()); } });
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of text(). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** A labelled counter whose values live in `totals` (updated per request without touching prom-client). */
  private countersFrom(name: string, help: string, label: string, totals: Map<string, number>): void {
    new Counter({
      name, help, labelNames: [label], registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, value] of totals) this.inc({ [label]: key }, value);
      },
    });
  }
}

function add(totals: Map<string, number>, key: string, n: number): void {
  totals.set(key, (totals.get(key) ?? 0) + n);
}
