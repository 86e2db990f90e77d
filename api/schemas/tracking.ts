import { z } from 'zod';

export const TrackingParams = z.strictObject({ token: z.string().max(200) });

const Label = { label: z.string(), label_en: z.string() };

export const TrackingView = z
  .object({
    order_id: z.number(),
    cargo: z.object({ code: z.string(), label: z.string() }),
    status: z.object({ code: z.string(), ...Label }),
    timeline: z.array(z.object({ status: z.string(), ...Label, at: z.string().meta({ description: 'To the minute' }) })),
    position: z
      .object({ latitude: z.number(), longitude: z.number(), at: z.string() })
      .nullable()
      .meta({ description: 'Rounded to 0.01° (about 1 km), only while the cargo is on board (PICKED_UP, IN_TRANSIT)' }),
    temperature: z.object({ state: z.enum(['NO_RECORD', 'IN_RANGE', 'OUT_OF_RANGE']), open_excursion: z.boolean() }),
  })
  .meta({ id: 'TrackingView' });
