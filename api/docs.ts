/** OpenAPI document and the browsable reference at /docs (filled in with issue 8). */
import type { Express } from 'express';
import type { AppDeps } from './deps.js';

export function mountApiDocs(_app: Express, _deps: AppDeps): void {}
