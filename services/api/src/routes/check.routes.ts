import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { calendarDateIn, needParametersInForce } from '@pksync/db';
import { activityCodes, describeCode, SnapshotNormaliser, type FindingCode, type RejectionCode } from '@pksync/core';
import { normaliseRegionCode, provinceOf, regionByCode } from '@pksync/reference';
import { canSeeProvince } from '../auth.ts';
import { badRequest, ErrorBody, forbidden } from '../errors.ts';
import { CalendarDate, IsoDate } from '../schemas.ts';
import { readAgencyFile } from '../upload/read.ts';
import { receiveFile } from '../upload/receive.ts';
import { sniffFile } from '../upload/sniff.ts';

const CheckResult = z
  .object({
    format: z.enum(['csv', 'xlsx', 'json']),
    region: z.string(),
    as_of: IsoDate,
    accepted: z.number().int().describe('records kept (officers after R7, plus formations and workload rows)'),
    need_parameters: z
      .object({ version: z.string(), status: z.enum(['confirmed', 'unconfirmed']) })
      .nullable()
      .describe(
        'the need parameter set in force on as_of (needs-planning-v1.md), whose activity codes workload rows are checked against; null: none in force, activity codes not checked',
      ),
    notes: z.array(z.string()).describe('what the check could not do, in Bahasa Indonesia'),
    rejected: z.array(
      z.object({
        row: z.number().int(),
        nip: z.string().nullable(),
        codes: z.array(z.string()),
        fields: z.array(z.string()),
        message: z.string().describe('Bahasa Indonesia'),
        issues: z.array(z.object({ code: z.string(), field: z.string(), detail: z.string().nullable() })),
      }),
    ),
    findings: z.array(
      z.object({
        code: z.string(),
        severity: z.enum(['error', 'warning', 'info']),
        row: z.number().int().nullable(),
        nip: z.string().nullable(),
        message: z.string(),
        details: z.record(z.string(), z.unknown()),
      }),
    ),
    stats: z.object({
      rows: z.number().int(),
      accepted: z.number().int(),
      rejected: z.number().int(),
      duplicates: z.number().int(),
      officer_rows: z.number().int(),
      formation_rows: z.number().int(),
      workload_rows: z.number().int(),
      unknown_fields: z.array(z.string()),
      rejected_by_code: z.record(z.string(), z.number().int()),
      warnings_by_code: z.record(z.string(), z.number().int()),
    }),
  })
  .meta({ id: 'CheckResult' });

/** `POST /check`: the dry run of `pksync check` on an uploaded file; touches nothing. */
export const checkRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/check',
    {
      config: { access: 'key' },
      schema: {
        tags: ['sources'],
        summary:
          'Dry run of an agency file (CSV, XLSX or JSON) for a region: accepted records, rejections and findings with rule codes and rows',
        description:
          'The same dry run as `pksync check`. Send the file as multipart/form-data (field `file`) or as the raw body. Nothing is stored. ' +
          'Workload (needs-planning-v1.md) is checked too: a workbook’s `beban_kerja` sheet, or a workload CSV/JSON sent alone ' +
          '(told apart by its header, or `table=workloads`), its activity codes against the parameter set in force on `as_of`.',
        security: [{ apiKey: [] }],
        consumes: [
          'multipart/form-data',
          'text/csv',
          'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        ],
        querystring: z.object({
          region: z.string().min(1).max(10).describe('the agency’s region code, e.g. 16.71 or 1671'),
          as_of: CalendarDate.optional().describe(
            'reference date YYYY-MM-DD (1900–9999); default today in the sync time zone',
          ),
          table: z
            .enum(['any', 'workloads'])
            .optional()
            .describe(
              '`workloads`: the file is a workload table whatever its header says (as `pksync check --workloads FILE` reads it); default `any`',
            ),
        }),
        response: {
          200: CheckResult,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
          422: ErrorBody,
        },
      },
    },
    async (req) => {
      const region = normaliseRegionCode(req.query.region);
      if (!region || !regionByCode(region))
        throw badRequest('querystring.region', `kode wilayah ${req.query.region} tidak dikenal`);
      if (!canSeeProvince(req.caller, provinceOf(region))) throw forbidden();
      const asOf = req.query.as_of ?? calendarDateIn(app.ctx.schedule.timezone);
      const { limits } = app.ctx;
      const file = await receiveFile(req, limits.maxUploadBytes, limits.uploadIdleMs);
      try {
        const format = await sniffFile(file.path);
        // Workload rows name activities of the parameter set in force on as_of (none: unchecked).
        const parameters = await needParametersInForce(app.ctx.db, asOf);
        const snapshot = new SnapshotNormaliser({
          sourceRegion: region,
          asOf,
          ...(parameters ? { activityCodes: activityCodes(parameters.parameters) } : {}),
        });
        // What the upload answers for the same bytes (sources.routes.ts), a file without data rows included.
        await readAgencyFile(
          file.path,
          { maxBytes: limits.maxUploadBytes, maxRows: limits.maxSnapshotRows, table: req.query.table ?? 'any' },
          {
            officer: ({ row, record }) => snapshot.addOfficer(record, row),
            formation: ({ row, record }) => snapshot.addFormation(record, row),
            workload: ({ row, record }) => snapshot.addWorkload(record, row),
          },
        );
        const result = snapshot.finish();
        const s = result.stats;
        const notes: string[] = [];
        if (s.workloadRows > 0 && !parameters) {
          notes.push(
            `Tidak ada parameter perhitungan kebutuhan yang berlaku pada ${asOf}: kode kegiatan beban kerja tidak diperiksa.`,
          );
        }
        return {
          format,
          region,
          as_of: asOf,
          accepted: s.accepted,
          need_parameters: parameters ? { version: parameters.version, status: parameters.status } : null,
          notes,
          rejected: result.rejected.map((r) => ({
            row: r.row,
            nip: r.nip ?? null,
            codes: r.codes,
            fields: r.fields,
            message: r.codes.map((c: RejectionCode) => describeCode(c)).join('; '),
            issues: r.issues.map((i) => ({ code: i.code, field: i.field, detail: i.detail ?? null })),
          })),
          findings: result.findings.map((f) => ({
            code: f.code,
            severity: f.severity,
            row: f.row ?? null,
            nip: f.nip ?? null,
            message: describeCode(f.code as FindingCode),
            details: f.details ?? {},
          })),
          stats: {
            rows: s.rows,
            accepted: s.accepted,
            rejected: s.rejected,
            duplicates: s.duplicates,
            officer_rows: s.officerRows,
            formation_rows: s.formationRows,
            workload_rows: s.workloadRows,
            unknown_fields: s.unknownFieldNames,
            rejected_by_code: s.rejectedByCode as Record<string, number>,
            warnings_by_code: s.warningsByCode as Record<string, number>,
          },
        };
      } finally {
        await file.cleanup();
      }
    },
  );
};
