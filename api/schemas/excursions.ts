import { z } from 'zod';
import { CORRECTIVE_ACTIONS } from '../../domain/corrective-actions.js';
import { TEMPERATURE_PROFILE_CODES } from '../../domain/temperature-profiles.js';
import { FreeText } from './common.js';

export const ExcursionActionPost = z
  .strictObject({
    action: z.enum(CORRECTIVE_ACTIONS).meta({ description: 'What was done about the excursion', example: 'CLOSED_DOOR' }),
    note: FreeText({ max: 1000, allowEmpty: true })
      .nullable()
      .optional()
      .meta({ description: 'Free text: who was called, what was found', example: '기사에게 전화, 도어 닫힘 확인' }),
  })
  .meta({ id: 'ExcursionActionPost' });

export const ExcursionAction = z
  .object({
    id: z.number(),
    excursion_id: z.number(),
    action: z.enum(CORRECTIVE_ACTIONS),
    note: z.string().nullable(),
    by: z.number().nullable().meta({ description: 'The user who recorded it' }),
    at: z.string().meta({ description: 'When it was recorded' }),
  })
  .meta({ id: 'ExcursionAction' });

export const Excursion = z
  .object({
    id: z.number(),
    dispatch_id: z.number(),
    vehicle_id: z.number(),
    sensor: z.string(),
    kind: z.enum(['HIGH', 'LOW', 'DATA_GAP']),
    severity: z.enum(['WARNING', 'CRITICAL']),
    status: z.enum(['OPEN', 'CLOSED']),
    started_at: z.string().meta({ description: 'The first out-of-range reading (HIGH, LOW) or the start of the silence (DATA_GAP), device clock' }),
    ended_at: z.string().nullable().meta({ description: 'The first reading back in range (or the next reading after a gap); null while OPEN' }),
    duration_s: z.number(),
    peak_c: z.number().nullable(),
    peak_at: z.string().nullable(),
    mean_c: z.number().nullable(),
    readings: z.number(),
    door_open_s: z.number().nullable().meta({ description: 'Seconds the door was reported open in the window; null when not reported' }),
    mkt_c: z.number().nullable().meta({ description: 'Mean kinetic temperature over the window (PHARMA_2_8 only)' }),
    actions: z.array(ExcursionAction.omit({ excursion_id: true })),
  })
  .meta({ id: 'Excursion' });

export const ExcursionList = z.object({ items: z.array(Excursion) }).meta({ id: 'ExcursionList' });

const Limit = z.number().nullable();
export const TemperatureProfile = z
  .object({
    code: z.enum(TEMPERATURE_PROFILE_CODES),
    label: z.string().meta({ example: '냉장' }),
    label_en: z.string().meta({ example: 'Chilled' }),
    range: z.string(),
    min_c: Limit.meta({ description: 'Warning limit: below is LOW' }),
    max_c: Limit.meta({ description: 'Warning limit: above is HIGH' }),
    critical_min_c: Limit.meta({ description: 'Below opens a CRITICAL excursion at once' }),
    critical_max_c: Limit.meta({ description: 'Above opens a CRITICAL excursion at once' }),
    mkt_max_c: Limit.meta({ description: 'Highest acceptable mean kinetic temperature' }),
    mkt_window_s: Limit.meta({ description: 'The window the MKT limit applies to' }),
  })
  .meta({ id: 'TemperatureProfile' });

export const TemperatureProfileList = z.object({ items: z.array(TemperatureProfile) }).meta({ id: 'TemperatureProfileList' });
