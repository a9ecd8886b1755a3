import { Router } from 'express';

/** One mirrored layer as GET /mirrors reports it. */
export interface MirroredLayerStatus {
  /** The layer's id here (prefix + upstream id). */
  layer: string;
  upstreamLayer: string;
  /** Node the layer is published on. */
  origin: string;
  /** This node's current version of the layer, and the upstream's. */
  version: string | null;
  upstreamVersion: string | null;
  /** Upstream versions newer than ours (at least 1 while behind). */
  lagVersions: number;
  /** Seconds since this node learned it was behind, on its own clock; 0 when caught up. */
  lagSeconds: number;
  lastError: string | null;
}

/** One configured mirror (an upstream this node follows) as GET /mirrors reports it. */
export interface MirrorStatus {
  upstream: string;
  /** The upstream's node id, once it answered. */
  upstreamNode: string | null;
  prefix: string;
  /** The upstream layer patterns followed. */
  patterns: string[];
  state: 'starting' | 'following' | 'upstream-down' | 'stopped';
  /** How changes are learned: the upstream's /events, or polling /changes. */
  mode: 'events' | 'polling';
  lastEventSeq: number | null;
  /** Sum over layers, and the largest, of the per-layer lags. */
  lagVersions: number;
  lagSeconds: number;
  lastError: { message: string; at: string } | null;
  lastSyncAt: string | null;
  /** Versions copied, tiles fetched and bytes read from the upstream since start. */
  transfer: { versions: number; tilesFetched: number; bytesReceived: number };
  layers: MirroredLayerStatus[];
}

/** Whatever runs the mirrors tells the server how they are. */
export interface MirrorStatusProvider {
  status(): MirrorStatus[];
}

/** GET /mirrors: each mirror's upstream, lag in versions and seconds, and last error. */
export function mirrorRoutes(nodeId: string, provider: MirrorStatusProvider | undefined): Router {
  const router = Router();
  router.get('/mirrors', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ node: nodeId, mirrors: provider?.status() ?? [] });
  });
  return router;
}
