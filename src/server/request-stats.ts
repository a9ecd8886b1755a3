import type { Metric } from 'prom-client';

/** Upper bounds (seconds) of the request latency histogram. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One (route, status) series: its count, sum and per-bucket counts. */
export interface RequestSeries {
  route: string;
  status: string;
  count: number;
  sum: number;
  buckets: Float64Array;
}

/**
 * Request counts and latencies by route and status, kept in plain numbers so a
 * request costs a map lookup and a few additions (prom-client's own observe
 * validates and hashes its labels on every call). The registry reads them at
 * scrape time through `histogram` and `counter`.
 */
export class RequestStats {
  private readonly byRoute = new Map<string, Map<number, RequestSeries>>();

  /** Records one request. */
  observe(route: string, status: number, seconds: number): void {
    let byStatus = this.byRoute.get(route);
    if (!byStatus) {
      byStatus = new Map();
      this.byRoute.set(route, byStatus);
    }
    let s = byStatus.get(status);
    if (!s) {
      s = { route, status: String(status), count: 0, sum: 0, buckets: new Float64Array(LATENCY_BUCKETS.length) };
      byStatus.set(status, s);
    }
    s.count++;
    s.sum += seconds;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= (LATENCY_BUCKETS[i] as number)) {
        s.buckets[i] = (s.buckets[i] as number) + 1;
        break;
      }
    }
  }

  /** Every series recorded so far. */
  series(): RequestSeries[] {
    return [...this.byRoute.values()].flatMap((m) => [...m.values()]);
  }

  /** The latency histogram as a metric the registry can expose (prom-client's value format, cumulative buckets). */
  histogram(name: string, help: string): Metric {
    const read = (): unknown => ({
      name, help, type: 'histogram', aggregator: 'sum',
      values: this.series().flatMap((s) => {
        const labels = { route: s.route, status: s.status };
        let cumulative = 0;
        const buckets = LATENCY_BUCKETS.map((le, i) => {
          cumulative += s.buckets[i] as number;
          return { labels: { le, ...labels }, value: cumulative, metricName: `${name}_bucket` };
        });
        return [
          ...buckets,
          { labels: { le: '+Inf', ...labels }, value: s.count, metricName: `${name}_bucket` },
          { labels, value: s.sum, metricName: `${name}_sum` },
          { labels, value: s.count, metricName: `${name}_count` },
        ];
      }),
    });
    // A metric object of our own: the registry only calls get() (and reads name/help/type) on it.
    const metric = { name, help, type: 'histogram', aggregator: 'sum', get: async () => read(), reset: () => undefined, labels: () => metric };
    return metric as unknown as Metric;
  }
}
