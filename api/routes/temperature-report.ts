/**
 * The temperature record of a dispatch (issue 15 item 5; DESIGN.md "Cold-chain telemetry
 * and excursions"): `Accept: text/csv` every reading as CSV, `application/pdf` the
 * printable record, JSON summary otherwise (also when Accept names none of them).
 *
 * Who: staff (dispatchers, admins), and the dispatch's own driver, as for the dispatch's
 * readings and excursions (GET /dispatches/:id/temperatures): a driver stopped at an
 * inspection must be able to show the record. Another driver gets a 404, as if the
 * dispatch did not exist. The order's shipper follows when shipper API keys exist.
 */
import { readableDispatch } from '../dispatch-access.js';
import type { AppDeps } from '../deps.js';
import { renderTemperaturePdf } from '../reports/temperature-pdf.js';
import { getReportHeader } from '../../db/temperature-report.js';
import { loadTemperatureReport, renderTemperatureCsv } from '../reports/temperature-report.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse, IdParams } from '../schemas/common.js';
import { TemperatureReportQuery, TemperatureReportSummary } from '../schemas/temperature-report.js';

const MEDIA = { json: 'application/json', csv: 'text/csv', pdf: 'application/pdf' } as const;
type Format = keyof typeof MEDIA;

export function temperatureReportRoutes(deps: AppDeps): RouteSpec[] {
  const { db, config } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/dispatches/:id/temperature-report',
      summary: "A dispatch's temperature record: JSON summary, CSV log or printable PDF",
      description:
        'Content negotiation on Accept: `text/csv` lists every reading in time order (UTF-8 with BOM; columns recorded_at,sensor,temperature_c,setpoint_c,door_open); ' +
        '`application/pdf` is the printable record (carrier, dispatch, order, vehicle, driver, profile and limits, min/max/mean, excursions with their corrective actions, every reading, page numbers; Korean labels first); ' +
        "anything else gets the JSON summary. `?format=csv|pdf|json` overrides Accept. Staff see any dispatch; a driver only their own; a shipper's API key only its client's (another is a 404). " +
        'A dispatch without readings still has a record, saying so.',
      tags: ['dispatches', 'telemetry'],
      auth: 'authenticated',
      shipperKey: true,
      params: IdParams,
      query: TemperatureReportQuery,
      responses: {
        200: { description: 'The JSON summary (or text/csv, application/pdf by Accept)', schema: TemperatureReportSummary },
        404: { description: 'No such dispatch (among your own, for a driver)', schema: ErrorResponse },
      },
      handler: async ({ params, query, principal, shipper, req, res, log }) => {
        const header = readableDispatch({ principal, shipper }, await getReportHeader(db, params.id));
        const accepted = req.accepts([MEDIA.json, MEDIA.csv, MEDIA.pdf]);
        const format: Format = query.format ?? (accepted === MEDIA.csv ? 'csv' : accepted === MEDIA.pdf ? 'pdf' : 'json');
        const report = await loadTemperatureReport(db, header, { carrierName: config.reports.carrierName, withReadings: format !== 'json' });
        const headers = { Vary: 'Accept', 'Cache-Control': 'private, no-store' };
        if (format === 'json') return reply(200, report.summary, headers);
        const body =
          format === 'csv'
            ? Buffer.from(renderTemperatureCsv(report.readings), 'utf8')
            : (await renderTemperaturePdf(report, { fontPath: config.reports.fontPath, log })).bytes;
        res.set({
          ...headers,
          'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : MEDIA.pdf,
          'Content-Length': String(body.length),
          'Content-Disposition': `attachment; filename="dispatch-${header.dispatch_id}-temperatures.${format}"`,
        });
        res.status(200).end(body);
      },
    }),
  ];
}
