import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import {
  confirmRemoval,
  importSources,
  listHeldRemovals,
  listSources,
  saveUpload,
  UploadTooLargeError,
  writeAudit,
  type SourceView,
} from '@pksync/db';
import { provinceOf, regionByCode } from '@pksync/reference';
import { actorOf, canSeeProvince, provinceScope } from '../auth.ts';
import { ApiError, badRequest, ErrorBody, forbidden, notFound } from '../errors.ts';
import { iso, isoReq, ProvinceCode, Reason, RegionCode, Source } from '../schemas.ts';
import { readAgencyFile } from '../upload/read.ts';
import { receiveFile, tooLarge } from '../upload/receive.ts';
import { sniffFile } from '../upload/sniff.ts';
import { startRun } from './runs.routes.ts';

export function sourceJson(s: SourceView) {
  return {
    id: s.id,
    agency: s.agency,
    region_code: s.regionCode,
    transport: s.transport,
    url: s.url,
    formations_url: s.formationsUrl,
    workloads_url: s.workloadsUrl,
    has_token: s.hasToken,
    enabled: s.enabled,
    timeout_s: s.timeoutS,
    max_bytes: s.maxBytes,
    max_rows: s.maxRows,
    last_success_at: iso(s.lastSuccessAt),
    stale: s.stale,
    last_fetch: s.lastFetch
      ? {
          status: s.lastFetch.status,
          finished_at: iso(s.lastFetch.finishedAt),
          error_code: s.lastFetch.errorCode,
          error_message: s.lastFetch.errorMessage,
        }
      : null,
    created_at: isoReq(s.createdAt),
    updated_at: isoReq(s.updatedAt),
  };
}

/**
 * The source `id` if the caller may act on it: admins on any existing source; a province key only
 * on its own, with the same 403 for "another province" and "no such source".
 */
async function sourceInScope(req: FastifyRequest, id: string): Promise<SourceView> {
  const [source] = await listSources(req.server.ctx.db, { id });
  if (req.caller.role !== 'admin' && (!source || !canSeeProvince(req.caller, provinceOf(source.regionCode))))
    throw forbidden();
  if (!source) throw notFound(`Sumber ${id}`);
  return source;
}

const SourceId = z.object({ id: z.string().min(1).max(200) });

const SourceBody = z
  .object({
    agency: z.string().trim().min(1).max(500),
    region_code: RegionCode,
    transport: z.enum(['api', 'csv', 'xlsx', 'upload']),
    url: z
      .url({ protocol: /^https?$/ })
      .nullable()
      .optional(),
    formations_url: z
      .url({ protocol: /^https?$/ })
      .nullable()
      .optional(),
    workloads_url: z
      .url({ protocol: /^https?$/ })
      .nullable()
      .optional()
      .describe('csv sources: the workload CSV (needs-planning-v1.md)'),
    token: z
      .string()
      .min(1)
      .max(4096)
      .nullable()
      .optional()
      .describe('write-only: absent keeps the stored token, null removes it'),
    enabled: z.boolean().optional(),
    timeout_s: z.number().int().positive().max(3600).nullable().optional(),
    max_bytes: z.number().int().positive().nullable().optional(),
    max_rows: z.number().int().positive().nullable().optional(),
    reason: Reason.optional().describe('why (written to the audit log)'),
  })
  .strict();

const UploadResult = z.object({
  upload_id: z.string(),
  run_id: z.string(),
  created: z
    .boolean()
    .describe('false when a run of this source was already queued or running (it will read the newest upload)'),
  format: z.enum(['csv', 'xlsx']),
  size_bytes: z.number().int(),
  sha256: z.string(),
});

/** `GET /sources`, `PUT /sources/{id}`, uploads, confirm-removal and held removals. */
export const sourceRoutes: FastifyPluginAsyncZod = async (app) => {
  const { rateLimit } = app.ctx;
  app.get(
    '/sources',
    {
      config: { access: 'key' },
      schema: {
        tags: ['sources'],
        summary: 'The source registry (a province key: its own province); tokens are never returned',
        security: [{ apiKey: [] }],
        querystring: z.object({ province: ProvinceCode.optional(), region: RegionCode.optional() }),
        response: { 200: z.object({ data: z.array(Source) }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (req) => {
      const own = provinceScope(req);
      const q = req.query;
      if (own !== undefined && ((q.province && q.province !== own) || (q.region && provinceOf(q.region) !== own)))
        throw forbidden();
      const rows = await listSources(app.ctx.db, { provinceCode: own ?? q.province, regionCode: q.region });
      return { data: rows.map(sourceJson) };
    },
  );

  app.put(
    '/sources/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['sources'],
        summary: 'Create or replace one source (admin); the token is write-only',
        security: [{ apiKey: [] }],
        params: SourceId,
        body: SourceBody,
        response: { 200: Source, 201: Source, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (req, reply) => {
      const { reason, ...b } = req.body;
      const id = req.params.id;
      if (!/^[\w.-]+$/.test(id)) throw badRequest('params.id', 'hanya huruf, angka, ".", "_" dan "-"');
      if (!regionByCode(b.region_code))
        throw badRequest('body.region_code', `kode wilayah ${b.region_code} tidak dikenal`);
      if (b.transport === 'upload' && b.url) throw badRequest('body.url', 'sumber upload tidak memiliki url');
      if (b.transport !== 'upload' && !b.url) throw badRequest('body.url', `wajib untuk transport ${b.transport}`);
      if (b.formations_url && b.transport !== 'csv')
        throw badRequest('body.formations_url', 'hanya untuk transport csv');
      if (b.workloads_url && b.transport !== 'csv')
        throw badRequest('body.workloads_url', 'hanya untuk transport csv (xlsx memuat sheet beban_kerja)');
      if (b.token && !app.ctx.tokenKey) {
        throw badRequest('body.token', 'server tidak memiliki TOKEN_ENCRYPTION_KEY, token tidak dapat disimpan');
      }
      // The sources file's defaults for what the body leaves out; no `token` keeps the stored one.
      const report = await importSources(app.ctx.db, [{ id, ...b }], app.ctx.tokenKey);
      const created = report.created.includes(id);
      const { actor, actorRole } = actorOf(req);
      await writeAudit(app.ctx.db, {
        actor,
        actorRole,
        action: 'source.update',
        target: `source:${id}`,
        provinceCode: provinceOf(b.region_code),
        reason: reason ?? null,
        // Field names only: a token's value never reaches the log.
        details: { created, fields: report.updated.find((u) => u.id === id)?.fields ?? [] },
      });
      const [source] = await listSources(app.ctx.db, { id });
      return reply.code(created ? 201 : 200).send(sourceJson(source!));
    },
  );

  app.post(
    '/sources/:id/uploads',
    {
      config: { access: 'key', rateLimit: { max: rateLimit.max, timeWindow: rateLimit.timeWindowMs } },
      schema: {
        tags: ['sources'],
        summary: 'Upload a CSV or XLSX file for an upload source; starts a run of that source',
        description:
          'multipart/form-data with the file in field `file` (optional field `reason`), or the raw file as the body (Content-Type text/csv or the XLSX type). The content is sniffed; the size is limited.',
        security: [{ apiKey: [] }],
        params: SourceId,
        consumes: [
          'multipart/form-data',
          'text/csv',
          'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        ],
        response: {
          202: UploadResult,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
          422: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const { db, limits } = app.ctx;
      const source = await sourceInScope(req, req.params.id);
      if (source.transport !== 'upload') {
        throw new ApiError(409, 'conflict', `Sumber ${source.id} memakai transport ${source.transport}, bukan upload.`);
      }
      const maxBytes = Math.min(limits.maxUploadBytes, source.maxBytes ?? Number.MAX_SAFE_INTEGER);
      const file = await receiveFile(req, maxBytes, limits.uploadIdleMs);
      try {
        const format = await sniffFile(file.path);
        if (format === 'json') {
          throw new ApiError(415, 'unsupported_media_type', 'Sumber upload menerima berkas CSV atau XLSX, bukan JSON.');
        }
        // Read the whole file once, as the worker will: a file it could not read is refused now.
        const maxRows = Math.min(limits.maxSnapshotRows, source.maxRows ?? Number.MAX_SAFE_INTEGER);
        const rows = await readAgencyFile(file.path, { maxBytes, maxRows });
        const { actor, actorRole } = actorOf(req);
        const reason = file.fields.reason?.trim() || null;
        let info;
        try {
          info = await saveUpload(db, {
            sourceId: source.id,
            filename: file.filename.slice(0, 255),
            contentType:
              format === 'csv' ? 'text/csv' : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
            uploadedBy: actor,
            note: reason,
            content: createReadStream(file.path),
            maxBytes,
          });
        } catch (e) {
          if (e instanceof UploadTooLargeError) throw tooLarge(maxBytes);
          throw e;
        }
        await writeAudit(db, {
          actor,
          actorRole,
          action: 'source.upload',
          target: `source:${source.id}`,
          provinceCode: provinceOf(source.regionCode),
          reason,
          details: {
            upload_id: info.id,
            filename: file.filename.slice(0, 255),
            bytes: info.sizeBytes,
            sha256: info.sha256,
            rows,
          },
        });
        const { run, created } = await startRun(
          req,
          { kind: 'source', value: source.id },
          reason ?? `upload ${info.id}`,
        );
        return reply.code(202).send({
          upload_id: info.id,
          run_id: run.id,
          created,
          format,
          size_bytes: info.sizeBytes,
          sha256: info.sha256,
        });
      } finally {
        await file.cleanup();
      }
    },
  );

  app.post(
    '/sources/:id/confirm-removal',
    {
      config: { access: 'admin', rateLimit: { max: rateLimit.max, timeWindow: rateLimit.timeWindowMs } },
      schema: {
        tags: ['sources'],
        summary: 'Confirm the held mass removal of a source (R8, admin); starts a run of the source to apply it',
        security: [{ apiKey: [] }],
        params: SourceId,
        body: z.object({ reason: Reason.describe('why the removal is right (audit log)') }),
        response: {
          202: z.object({ confirmed: z.literal(true), officers: z.number().int(), run_id: z.string() }),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const source = await sourceInScope(req, req.params.id);
      const { actor, actorRole } = actorOf(req);
      const res = await confirmRemoval(app.ctx.db, { sourceId: source.id, by: actor, reason: req.body.reason });
      if (!res.confirmed)
        throw new ApiError(409, 'conflict', `Tidak ada penghapusan massal yang ditahan untuk sumber ${source.id}.`);
      await writeAudit(app.ctx.db, {
        actor,
        actorRole,
        action: 'removal.confirm',
        target: `source:${source.id}`,
        provinceCode: provinceOf(source.regionCode),
        reason: req.body.reason,
        details: { officers: res.nips },
      });
      // R8: the confirmed removal is applied by the next reconcile of the source: start it now.
      const { run } = await startRun(req, { kind: 'source', value: source.id }, `confirm-removal: ${req.body.reason}`);
      return reply.code(202).send({ confirmed: true as const, officers: res.nips, run_id: run.id });
    },
  );

  app.get(
    '/held-removals',
    {
      config: { access: 'key' },
      schema: {
        tags: ['sources'],
        summary: 'Mass removals held by R8 and waiting for confirmation (a province key: its own)',
        security: [{ apiKey: [] }],
        querystring: z.object({ province: ProvinceCode.optional() }),
        response: {
          200: z.object({
            data: z.array(
              z.object({
                id: z.number().int(),
                source_id: z.string(),
                agency: z.string(),
                region_code: z.string(),
                run_id: z.string(),
                count: z.number().int(),
                active_before: z.number().int(),
                created_at: z.string(),
              }),
            ),
          }),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
        },
      },
    },
    async (req) => {
      const own = provinceScope(req);
      if (own !== undefined && req.query.province && req.query.province !== own) throw forbidden();
      const rows = await listHeldRemovals(app.ctx.db, { province: own ?? req.query.province, waitingOnly: true });
      return {
        data: rows.map((r) => ({
          id: r.id,
          source_id: r.sourceId,
          agency: r.agency,
          region_code: r.regionCode,
          run_id: r.runId,
          count: r.count,
          active_before: r.activeBefore,
          created_at: isoReq(r.createdAt),
        })),
      };
    },
  );
};
