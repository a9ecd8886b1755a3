import { createRequire } from 'node:module';
import path from 'node:path';
import express, { Router } from 'express';
import { packageRoot } from '../package-paths.js';

/** The OpenLayers example page's own files (kept in src/, not compiled). */
export function olPageDir(): string {
  return path.join(packageRoot(), 'src', 'server', 'ol', 'static');
}

/** The installed `ol` package's folder (no CDN: there may be no internet). */
export function olPackageDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('ol/package.json'));
}

/**
 * GET /ol.html (the same layers drawn by OpenLayers' MVT support), its script and
 * stylesheet under /ol/, and OpenLayers itself under /vendor/ol/: the full UMD build
 * (`ol.js`, one file with every class, so the page needs no bundler) and `ol.css`.
 */
export function olPageRoutes(): Router {
  const router = Router();
  const pageDir = olPageDir();
  const olDir = olPackageDir();
  router.get('/ol.html', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(path.join(pageDir, 'ol.html'), (err) => { if (err) next(err); });
  });
  router.use('/ol', express.static(pageDir, { maxAge: 0, index: false, fallthrough: false }));
  router.get('/vendor/ol/ol.css', (_req, res, next) => {
    res.sendFile(path.join(olDir, 'ol.css'), { maxAge: '1d' }, (err) => { if (err) next(err); });
  });
  router.use('/vendor/ol', express.static(path.join(olDir, 'dist'), { maxAge: '1d', fallthrough: false }));
  return router;
}
