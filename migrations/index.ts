/**
 * Every migration, in order. Forward-only: a released migration is never edited;
 * a mistake is corrected by a new migration (see docs/deploy.md).
 */
import type { Knex } from 'knex';
import * as core from './20261127_0001_core.js';
import * as dispatchPlans from './20261129_0016_dispatch_plans.js';
import * as backups from './20261127_0002_backups.js';
import * as keysetIndexes from './20261127_0003_keyset_indexes.js';
import * as outboxJobKey from './20261127_0004_outbox_job_key.js';
import * as historyEventKey from './20261127_0005_history_event_key.js';
import * as normalizedEmails from './20261129_0006_normalized_emails.js';
import * as textNfc from './20261129_0007_text_nfc.js';
import * as temperatureTelemetry from './20261129_0008_temperature_telemetry.js';
import * as temperatureExcursions from './20261129_0009_temperature_excursions.js';
import * as excursionEvaluations from './20261129_0010_excursion_evaluations.js';
import * as webhooks from './20261129_0011_webhooks.js';
import * as geofenceEvents from './20261129_0012_geofence_events.js';
import * as shipperKeys from './20261129_0013_shipper_keys.js';
import * as trackingLinks from './20261129_0014_tracking_links.js';
import * as proofs from './20261129_0015_proofs.js';
import * as monthPartitions from './20261129_0017_month_partitions.js';

export interface Migration extends Knex.Migration {
  name: string;
}

export const migrations: Migration[] = [
  { name: '20261127_0001_core', ...core },
  { name: '20261127_0002_backups', ...backups },
  { name: '20261127_0003_keyset_indexes', ...keysetIndexes },
  { name: '20261127_0004_outbox_job_key', ...outboxJobKey },
  { name: '20261127_0005_history_event_key', ...historyEventKey },
  { name: '20261129_0006_normalized_emails', ...normalizedEmails },
  { name: '20261129_0007_text_nfc', ...textNfc },
  { name: '20261129_0008_temperature_telemetry', ...temperatureTelemetry },
  { name: '20261129_0009_temperature_excursions', ...temperatureExcursions },
  { name: '20261129_0010_excursion_evaluations', ...excursionEvaluations },
  { name: '20261129_0011_webhooks', ...webhooks },
  { name: '20261129_0012_geofence_events', ...geofenceEvents },
  { name: '20261129_0013_shipper_keys', ...shipperKeys },
  { name: '20261129_0014_tracking_links', ...trackingLinks },
  { name: '20261129_0015_proofs', ...proofs },
  { name: '20261129_0016_dispatch_plans', ...dispatchPlans },
  { name: '20261129_0017_month_partitions', ...monthPartitions },
];
