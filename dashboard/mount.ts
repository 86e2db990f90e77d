/**
 * Serves the dispatcher dashboard at /dashboard from its Vite build
 * (dashboard/web/dist). Fingerprinted assets are cached for a year; index.html is
 * revalidated on every load, so a deploy reaches every browser at its next reload.
 * The page holds no data: it signs in and reads everything through /api/v1.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express, type Router } from 'express';
import type { AppDeps } from '../api/deps.js';
import { projectPath } from '../lib/paths.js';
import { ROUTER_OPTIONS } from '../api/route.js';

export const DASHBOARD_PATH = '/dashboard';
export const DASHBOARD_DIST = projectPath('dashboard', 'web', 'dist');

const NOT_BUILT =
  '대시보드가 아직 빌드되지 않았습니다. `npm run build:dashboard`를 실행하세요.\n' +
  'The dashboard is not built: run `npm run build:dashboard` (or `npm run build`), then reload.\n';

/** The router for one build directory (tests point it at a directory of their own). */
export function dashboardRouter(dist: string): Router {
  const router = express.Router(ROUTER_OPTIONS);
  const index = join(dist, 'index.html');

  const sendIndex: express.RequestHandler = (_req, res) => {
    // Checked per request, so building while the server runs needs no restart.
    if (!existsSync(index)) {
      res.status(503).type('text/plain; charset=utf-8').set('Cache-Control', 'no-store').send(NOT_BUILT);
      return;
    }
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index);
  };

  // Middleware rather than routes: the OpenAPI check lists routes, and these are static files under a mount.
  router.use((req, res, next) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && (req.path === '/' || req.path === '/index.html')) return sendIndex(req, res, next);
    next();
  });
  router.use(
    '/assets',
    express.static(join(dist, 'assets'), {
      index: false,
      fallthrough: true,
      redirect: false,
      // Vite puts a content hash in every asset name: a changed file is a new URL.
      setHeaders: (res) => res.set('Cache-Control', 'public, max-age=31536000, immutable'),
    }),
  );
  // Other files of the build (none yet; e.g. a favicon), revalidated like the page.
  router.use(express.static(dist, { index: false, redirect: false, setHeaders: (res) => res.set('Cache-Control', 'no-cache') }));
  return router;
}

export function mountDashboard(app: Express, _deps: AppDeps): void {
  // /dashboard and /dashboard/ both serve the page; its asset URLs are absolute (base /dashboard/).
  app.use(DASHBOARD_PATH, dashboardRouter(DASHBOARD_DIST));
}
