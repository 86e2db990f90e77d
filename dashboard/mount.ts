/** Serves the dispatcher dashboard at /dashboard (filled in with issue 9). */
import type { Express } from 'express';
import type { AppDeps } from '../api/deps.js';

export function mountDashboard(_app: Express, _deps: AppDeps): void {}
