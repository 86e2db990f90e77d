/**
 * Builds the dispatcher dashboard: plain TypeScript and CSS into dashboard/web/dist,
 * served by the API at /dashboard (dashboard/mount.ts). Everything the page needs is
 * in the build (no CDN, no web fonts), and nothing is inlined into index.html, so the
 * API's CSP (script-src 'self', style-src 'self') holds without exceptions.
 *
 *   npx vite build --config dashboard/web/vite.config.ts     # the build
 *   npx vite --config dashboard/web/vite.config.ts           # dev server on :5173, API proxied to :3000
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/dashboard/',
  // The district list lives beside the server code (data/); the page imports it at build time.
  server: {
    port: 5173,
    fs: { allow: [fileURLToPath(new URL('../..', import.meta.url))] },
    proxy: { '/api': 'http://localhost:3000', '/admin': 'http://localhost:3000' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // Never turn assets into data: URLs or inline code: every file is served by the API with its own cache headers.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
  clearScreen: false,
  logLevel: 'warn',
});
