import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listAudit } from '@pksync/db';
import { ErrorBody } from '../errors.ts';
import { AuditEntry, isoReq, Limit, ProvinceCode } from '../schemas.ts';

/** The audit log (admins only): every trigger, upload, confirmation, acknowledgement and key change. */
export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/audit',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Audit log, newest first',
        security: [{ apiKey: [] }],
        querystring: z.object({
          action: z.string().max(100).optional(),
          actor: z.string().max(200).optional(),
          province: ProvinceCode.optional(),
          before: z.coerce.number().int().positive().optional().describe('id of the last entry of the previous page'),
          limit: Limit(500, 100),
        }),
        response: {
          200: z.object({ data: z.array(AuditEntry), next_before: z.number().int().nullable() }),
          401: ErrorBody,
          403: ErrorBody,
          400: ErrorBody,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const rows = await listAudit(app.ctx.db, {
        limit: q.limit,
        before: q.before,
        action: q.action,
        actor: q.actor,
        provinceCode: q.province,
      });
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
        next_before: rows.length === q.limit ? (rows[rows.length - 1]?.id ?? null) : null,
      };
    },
  );
};
