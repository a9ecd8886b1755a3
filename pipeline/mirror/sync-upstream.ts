import { isLayerId } from '../../src/domain/layer-id.js';
import { matchesLayerPatterns } from './layer-patterns.js';
import { MirrorError } from './mirror-error.js';
import { syncLayer, type LayerSyncContext, type LayerSyncOutcome } from './sync-layer.js';
import { fetchCatalog, type UpstreamCatalog, type UpstreamLayer } from './upstream-catalog.js';

/** What a pass over an upstream needs. */
export interface SyncContext extends LayerSyncContext {
  /** This node's id: layers whose origin it is are never copied back. */
  nodeId: string;
  prefix: string;
  /** Upstream layer ids to follow (glob-like patterns). */
  patterns: readonly string[];
  /** Called after each layer whose current version changed here. */
  onChanged?: (outcome: LayerSyncOutcome) => void;
  /** Called with the catalog before any layer is synced. */
  onCatalog?: (catalog: UpstreamCatalog, selected: SelectedLayer[]) => void;
}

/** An upstream layer the mirror follows, with its local id. */
export interface SelectedLayer {
  upstream: UpstreamLayer;
  localId: string;
}

/** What one pass did. */
export interface SyncPassResult {
  upstreamNode: string;
  outcomes: LayerSyncOutcome[];
  /** Every layer id of the upstream's catalog (followed or not). */
  upstreamLayers: string[];
}

/** Times one layer is retried from a fresh catalog when the upstream moves on mid-copy. */
const MOVED_ON_RETRIES = 3;

/** The upstream layers a mirror follows: matching its patterns, and not originating here (no loops). */
export function selectLayers(catalog: UpstreamCatalog, ctx: Pick<SyncContext, 'nodeId' | 'prefix' | 'patterns'>): SelectedLayer[] {
  return catalog.layers
    .filter((l) => l.origin !== ctx.nodeId && matchesLayerPatterns(l.id, ctx.patterns))
    .map((l) => ({ upstream: l, localId: ctx.prefix + l.id }));
}

/** Layer ids asked for by name (patterns without "*") that the upstream's catalog lacks. */
export function namedButAbsent(patterns: readonly string[], upstreamLayers: readonly string[]): string[] {
  return patterns.filter((p) => !p.includes('*') && !upstreamLayers.includes(p));
}

/** The problem with layers asked for by name that the upstream lacks, naming what it has; null when none is missing. */
export function absentLayersProblem(upstream: string, patterns: readonly string[], upstreamLayers: readonly string[]): string | null {
  const absent = namedButAbsent(patterns, upstreamLayers);
  if (!absent.length) return null;
  return `${upstream}: no layer ${absent.map((id) => `"${id}"`).join(', ')} upstream (it has: ${upstreamLayers.join(', ') || 'none'})`;
}

/**
 * One catch-up pass: reads the upstream's catalog and brings every followed layer
 * to the upstream's current version. A layer that fails is reported and the others
 * go on; the upstream going down stops the pass (the caller retries with backoff).
 */
export async function syncUpstream(ctx: SyncContext): Promise<SyncPassResult> {
  let catalog = await fetchCatalog(ctx.client, ctx.signal);
  const selected = selectLayers(catalog, ctx);
  ctx.onCatalog?.(catalog, selected);
  const outcomes: LayerSyncOutcome[] = [];
  for (const { upstream, localId } of selected) {
    let layer: UpstreamLayer | undefined = upstream;
    let outcome: LayerSyncOutcome | null = null;
    for (let attempt = 0; layer && outcome === null; attempt++) {
      try {
        outcome = isLayerId(localId)
          ? await syncLayer(ctx, layer, localId)
          : { state: 'failed', layer: localId, error: `"${localId}" (prefix + upstream id) is not a valid layer id` };
      } catch (err) {
        if (!(err instanceof MirrorError) || err.code === 'unreachable') throw err;
        if (err.code !== 'version-gone' || attempt + 1 >= MOVED_ON_RETRIES) {
          outcome = { state: 'failed', layer: localId, error: err.message };
          break;
        }
        // The upstream published (and pruned) again while we copied: start over from its new catalog.
        catalog = await fetchCatalog(ctx.client, ctx.signal);
        layer = catalog.layers.find((l) => l.id === upstream.id);
      }
    }
    if (!outcome) continue;
    outcomes.push(outcome);
    if (outcome.state === 'imported' || outcome.state === 'switched') ctx.onChanged?.(outcome);
  }
  return { upstreamNode: catalog.node.id, outcomes, upstreamLayers: catalog.layers.map((l) => l.id) };
}
