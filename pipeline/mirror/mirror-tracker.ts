import type { MirrorConfig } from '../../src/config/schema.js';
import { compareVersionTags, parseVersionTag } from '../../src/domain/version-tag.js';
import type { MirroredLayerStatus, MirrorStatus } from '../../src/server/routes/mirrors.js';
import type { TileStore } from '../../src/store/tile-store.js';
import type { LayerSyncOutcome } from './sync-layer.js';
import type { SelectedLayer } from './sync-upstream.js';
import type { UpstreamCatalog } from './upstream-catalog.js';
import { displayUrl } from './upstream-client.js';

interface LayerTrack {
  upstreamLayer: string;
  origin: string;
  upstreamVersion: string | null;
  upstreamVersions: string[];
  /** When this node learned it was behind (monotonic ms), null when caught up. */
  behindSince: number | null;
  lastError: string | null;
}

/**
 * What a mirror knows about how far behind it is. Lag in seconds is measured on this
 * node's own monotonic clock from the moment it learned of a newer upstream version,
 * never by comparing the upstream's timestamps with ours (the clocks may disagree).
 */
export class MirrorTracker {
  /** Versions copied and tiles fetched since start. */
  readonly transfer = { versions: 0, tilesFetched: 0 };
  private upstreamNode: string | null = null;
  private readonly layers = new Map<string, LayerTrack>();
  /** Upstream layers the latest catalog lists but the mirror does not follow (their origin is this node). */
  private skipped = new Set<string>();
  private lastError: MirrorStatus['lastError'] = null;
  private lastSyncAt: string | null = null;

  constructor(private readonly config: MirrorConfig, private readonly store: TileStore, private readonly now: () => number) {}

  /** The upstream's catalog was read: learn its versions and whether we are behind. */
  noteCatalog(catalog: UpstreamCatalog, selected: SelectedLayer[]): void {
    this.upstreamNode = catalog.node.id;
    const followed = new Set(selected.map((s) => s.upstream.id));
    this.skipped = new Set(catalog.layers.map((l) => l.id).filter((id) => !followed.has(id)));
    for (const { upstream, localId } of selected) {
      const t = this.track(localId, upstream.id, upstream.origin);
      t.upstreamVersion = upstream.version;
      t.upstreamVersions = upstream.versions.map((v) => v.version);
      if (upstream.version !== null && upstream.version !== this.localVersion(localId)) t.behindSince ??= this.now();
      else t.behindSince = null;
    }
  }

  /** An event said the upstream changed a layer: we are behind from now on. */
  noteUpstreamChange(upstreamLayer: string): void {
    const t = this.layers.get(this.config.prefix + upstreamLayer);
    if (t) t.behindSince ??= this.now();
  }

  /** A layer's sync finished one way or another. */
  noteOutcome(o: LayerSyncOutcome): void {
    const t = this.layers.get(o.layer);
    if (!t) return;
    if (o.state === 'failed') {
      t.lastError = o.error;
      return;
    }
    t.lastError = null;
    if (o.version === t.upstreamVersion) t.behindSince = null;
    if (o.state === 'imported') {
      this.transfer.versions++;
      this.transfer.tilesFetched += o.fetched;
    }
  }

  /**
   * A pass ended; `error` null when every followed layer is in step. `problem`: what is wrong
   * all the same (a layer named in the config that the upstream lacks), shown as the last error.
   */
  passDone(error: string | null, at: Date, problem: string | null = null): void {
    if (error === null) {
      this.lastError = problem === null ? null : { message: problem, at: at.toISOString() };
      this.lastSyncAt = at.toISOString();
    } else {
      this.noteError(error, at);
    }
  }

  /** Records the latest problem (cleared by the next pass that succeeds). */
  noteError(message: string, at: Date): void {
    this.lastError = { message, at: at.toISOString() };
  }

  /** True when the latest catalog lists `upstreamLayer` and the mirror does not follow it. */
  skips(upstreamLayer: string): boolean {
    return this.skipped.has(upstreamLayer);
  }

  /** This node's current version of a layer, or null. */
  versionOf(localId: string): string | null {
    return this.localVersion(localId);
  }

  /** Everything of the status the tracker knows. */
  status(): Omit<MirrorStatus, 'state' | 'mode' | 'lastEventSeq' | 'transfer'> {
    const layers = [...this.layers].map(([id, t]) => this.layerStatus(id, t));
    return {
      upstream: displayUrl(this.config.upstream), upstreamNode: this.upstreamNode, prefix: this.config.prefix, patterns: [...this.config.layers],
      lagVersions: layers.reduce((sum, l) => sum + l.lagVersions, 0),
      lagSeconds: layers.reduce((max, l) => Math.max(max, l.lagSeconds), 0),
      lastError: this.lastError, lastSyncAt: this.lastSyncAt, layers,
    };
  }

  private layerStatus(id: string, t: LayerTrack): MirroredLayerStatus {
    const version = this.localVersion(id);
    return {
      layer: id, upstreamLayer: t.upstreamLayer, origin: t.origin, version, upstreamVersion: t.upstreamVersion,
      lagVersions: lagInVersions(version, t.upstreamVersion, t.upstreamVersions),
      lagSeconds: t.behindSince === null ? 0 : Math.round((this.now() - t.behindSince) / 100) / 10,
      lastError: t.lastError,
    };
  }

  private track(localId: string, upstreamLayer: string, origin: string): LayerTrack {
    let t = this.layers.get(localId);
    if (!t) {
      t = { upstreamLayer, origin, upstreamVersion: null, upstreamVersions: [], behindSince: null, lastError: null };
      this.layers.set(localId, t);
    }
    t.origin = origin;
    return t;
  }

  private localVersion(localId: string): string | null {
    const layer = this.store.getLayer(localId);
    return layer?.versions.find((v) => v.vid === layer.currentVid)?.version ?? null;
  }
}

/** Upstream versions above ours; at least 1 while ours differs from the upstream's current. */
function lagInVersions(local: string | null, upstream: string | null, upstreamVersions: string[]): number {
  if (upstream === null || local === upstream) return 0;
  const mine = local === null ? null : parseVersionTag(local);
  const newer = upstreamVersions.filter((v) => {
    const tag = parseVersionTag(v);
    return tag !== null && (mine === null || compareVersionTags(tag, mine) > 0);
  }).length;
  return Math.max(1, newer);
}
