import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listAudit } from '@pksync/db';
import { ErrorBody } from '../errors.ts';
import { IdKey, PageQuery, pageOf, readPage } from '../paging.ts';
import { AuditEntry, isoReq, ProvinceCode } from '../schemas.ts';

/** The audit log (admins only): every trigger, upload, confirmation, acknowledgement and key change. */
export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/audit',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Audit log, newest first (paged by cursor)',
        security: [{ apiKey: [] }],
        querystring: PageQuery.extend({
          action: z.string().max(100).optional(),
          actor: z.string().max(200).optional(),
          province: ProvinceCode.optional(),
        }),
        response: {
          200: pageOf(AuditEntry),
          401: ErrorBody,
          403: ErrorBody,
          400: ErrorBody,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const filter = { action: q.action, actor: q.actor, provinceCode: q.province };
      const { rows, next_cursor } = await readPage(
        app.cursors,
        q,
        { list: 'audit', filters: filter },
        IdKey,
        (after, take) => listAudit(app.ctx.db, { ...filter, limit: take, afterId: after?.id }),
        (r) => ({ id: r.id }),
      );
      return {
        data: rows.map((r) => ({
          id: r.id,
          at: isoReq(r.at),
          actor: r.actor,
          actor_role: r.actorRole,
          action: r.action,
          target: r.target,
          province_code: r.provinceCode,
          reason: r.reason,
          details: r.details,
        })),
        next_cursor,
      };
    },
  );
};
