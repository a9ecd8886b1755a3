import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import type { Config } from '../../config/load-config.js';
import { baseUrlOf } from '../base-url.js';
import type { Metrics } from '../metrics.js';
import { buildOpenApi } from '../openapi.js';
import { packageRoot } from '../package-paths.js';

/** GET /metrics (Prometheus text) and GET /openapi.json. */
export function operationsRoutes(config: Config, metrics: Metrics): Router {
  const router = Router();
  const version = packageVersion();
  router.get('/metrics', async (_req, res) => {
    const text = await metrics.text();
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', metrics.contentType);
    res.end(text);
  });
  router.get('/openapi.json', (req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json(buildOpenApi(baseUrlOf(req, config.server.publicUrl, config.server.trustProxy), config.node.title, version));
  });
  return router;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}
