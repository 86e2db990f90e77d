/** Every route of the API, in one list: mounted by app.ts and described by the OpenAPI generator. */
import type { AppDeps } from '../deps.js';
import type { RouteSpec } from '../route.js';
import { apiKeyRoutes } from './api-keys.js';
import { authRoutes } from './auth.js';
import { backupRoutes } from './backups.js';
import { dashboardRoutes } from './dashboard.js';
import { dispatchPlanRoutes } from './dispatch-plans.js';
import { dispatchRoutes } from './dispatches.js';
import { excursionRoutes } from './excursions.js';
import { fleetRoutes } from './fleet.js';
import { geofenceRoutes } from './geofences.js';
import { healthRoutes } from './health.js';
import { jobRoutes } from './jobs.js';
import { locationRoutes } from './locations.js';
import { mobileRoutes } from './mobile.js';
import { orderRoutes } from './orders.js';
import { proofRoutes } from './proofs.js';
import { telemetryRoutes } from './telemetry.js';
import { temperatureReportRoutes } from './temperature-report.js';
import { trackingRoutes } from './tracking.js';
import { webhookRoutes } from './webhooks.js';

export function allRoutes(deps: AppDeps, loginLimits: RouteSpec['before'] = []): RouteSpec[] {
  // Express matches routes in order: the drivers' hot path (GPS posts, their list) comes first.
  return [
    ...mobileRoutes(deps),
    ...telemetryRoutes(deps),
    ...temperatureReportRoutes(deps),
    ...healthRoutes(deps),
    ...authRoutes(deps, loginLimits),
    ...orderRoutes(deps),
    ...dispatchPlanRoutes(deps),
    ...dispatchRoutes(deps),
    ...excursionRoutes(deps),
    ...geofenceRoutes(deps),
    ...proofRoutes(deps),
    ...fleetRoutes(deps),
    ...locationRoutes(deps),
    ...jobRoutes(deps),
    ...backupRoutes(deps),
    ...apiKeyRoutes(deps),
    ...trackingRoutes(deps),
    ...webhookRoutes(deps),
    ...dashboardRoutes(deps),
  ];
}
