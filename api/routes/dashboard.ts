/** API routes the dashboard needs beyond the contract (filled in with issue 9). */
import type { AppDeps } from '../deps.js';
import type { RouteSpec } from '../route.js';

export function dashboardRoutes(_deps: AppDeps): RouteSpec[] {
  return [];
}
