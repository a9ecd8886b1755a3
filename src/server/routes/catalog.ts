import { Router } from 'express';
import type { Config } from '../../config/load-config.js';
import { toLayerInfo, type CatalogCache } from '../../store/catalog-cache.js';
import { baseUrlOf } from '../base-url.js';
import { buildStyle } from '../style/build-style.js';

/** GET /catalog, /style.json and /healthz. */
export function catalogRoutes(config: Config, catalog: CatalogCache): Router {
  const router = Router();
  const base = (req: Parameters<typeof baseUrlOf>[0]): string => baseUrlOf(req, config.server.publicUrl, config.server.trustProxy);
  router.get('/catalog', (req, res) => {
    const url = base(req);
    res.setHeader('Cache-Control', 'no-cache');
    res.json({
      node: { id: config.node.id, title: config.node.title },
      layers: catalog.list().map((layer) => {
        const info = toLayerInfo(layer);
        const meta = info.currentMeta;
        return {
          id: layer.id,
          title: layer.title,
          version: info.current,
          versions: info.versions.filter((v) => v.state === 'live').map(({ version, publishedAt, tiles, bytes }) => ({ version, publishedAt, tiles, bytes })),
          bounds: meta?.bounds ?? null,
          minzoom: meta?.minzoom ?? null,
          maxzoom: meta?.maxzoom ?? null,
          geometryKind: meta?.geometryKind ?? null,
          fields: meta?.fields ?? {},
          attribution: layer.attribution,
          // The node the layer is published on; mirrors use it to never copy a layer back to its origin.
          origin: layer.origin ?? config.node.id,
          style: layer.style,
          tilejson: `${url}/tiles/${layer.id}.json`,
        };
      }),
    });
  });
  router.get('/style.json', (req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json(buildStyle({ nodeTitle: config.node.title, baseUrl: base(req), layers: catalog.list().map(toLayerInfo) }));
  });
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok', node: config.node.id, layers: catalog.list().length });
  });
  return router;
}
