/**
 * The OpenAPI document at /api/v1/openapi.json and the browsable reference at /docs.
 * Swagger UI's files come from the swagger-ui-dist package on this server, so the
 * reference works without internet access (and without a CDN in the CSP).
 */
import { readFileSync } from 'node:fs';
import type { Express, RequestHandler } from 'express';
import swaggerUi from 'swagger-ui-express';
import { projectPath } from '../lib/paths.js';
import type { AppDeps } from './deps.js';
import { thirdPartyPageCsp } from './middleware/security-headers.js';
import { DOCS_PATH, OPENAPI_PATH, buildOpenApiDocument } from './openapi.js';
import { allRoutes } from './routes/index.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

// Swagger UI's page has inline styles and data: images; connect-src 'self' lets it load
// the document and run "Try it out" against this server.
const docsCsp: RequestHandler = thirdPartyPageCsp();

/** Off (API_DOCS=off, the production default) mounts neither: both paths answer 404. */
export function mountApiDocs(app: Express, deps: AppDeps): void {
  if (!deps.config.apiDocs) return;
  // Built on first request, not at start-up: most processes (and tests) never serve it.
  let document: string | undefined;
  const openApiJson = () => (document ??= JSON.stringify(buildOpenApiDocument(allRoutes(deps), { version: packageVersion() })));

  app.get(OPENAPI_PATH, (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('application/json').send(openApiJson());
  });

  const options = {
    customSiteTitle: 'UVIS API reference',
    swaggerUrl: OPENAPI_PATH,
    // validatorUrl: null keeps Swagger UI from calling validator.swagger.io (offline, and outside our CSP).
    swaggerOptions: { validatorUrl: null, deepLinking: true, displayRequestDuration: true, tryItOutEnabled: false },
  };
  // serveFiles (not serve) keeps this app's init script apart from any other instance in the process (tests build many apps).
  app.use(DOCS_PATH, docsCsp, ...swaggerUi.serveFiles(undefined, options), swaggerUi.setup(null, options));
}
