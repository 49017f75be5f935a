import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  acknowledgeFindingById,
  getFindingView,
  listFindingsView,
  writeAudit,
  type Finding as FindingRow,
} from '@pksync/db';
import { describeCode, FINDING_CODES, FINDING_RULES, type FindingCode } from '@pksync/core';
import { provinceOf } from '@pksync/reference';
import { actorOf, canSeeProvince, provinceScope } from '../auth.ts';
import { ApiError, ErrorBody, forbidden, notFound } from '../errors.ts';
import { IdKey, PageQuery, pageOf, readPage } from '../paging.ts';
import { Finding, iso, isoReq, ProvinceCode, RegionCode } from '../schemas.ts';

export function findingJson(f: FindingRow) {
  const known = (FINDING_CODES as string[]).includes(f.code);
  return {
    id: Number(f.id),
    code: f.code,
    rule: known ? FINDING_RULES[f.code as FindingCode].rule : null,
    severity: f.severity,
    status: f.status,
    province_code: f.province_code,
    region_code: f.region_code,
    source_id: f.source_id,
    nip: f.nip,
    row: f.row,
    message: f.message,
    description: known ? describeCode(f.code as FindingCode) : f.code,
    details: (f.details ?? {}) as Record<string, unknown>,
    first_seen_at: isoReq(f.first_seen_at as unknown as Date),
    last_seen_at: isoReq(f.last_seen_at as unknown as Date),
    acknowledged_at: iso(f.acknowledged_at as unknown as Date | null),
    acknowledged_by: f.acknowledged_by,
    ack_note: f.ack_note,
    resolved_at: iso(f.resolved_at as unknown as Date | null),
  };
}

/** `GET /findings`, `POST /findings/{id}/ack`. */
export const findingRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/findings',
    {
      config: { access: 'key' },
      schema: {
        tags: ['findings'],
        summary: 'Data-quality findings, newest first, paged by cursor (a province key: its own province only)',
        security: [{ apiKey: [] }],
        querystring: PageQuery.extend({
          province: ProvinceCode.optional(),
          region: RegionCode.optional(),
          rule: z.string().max(64).optional().describe('a finding code such as record_rejected'),
          status: z.enum(['open', 'acknowledged', 'resolved']).optional(),
          source: z.string().max(200).optional(),
        }),
        response: {
          200: pageOf(Finding),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const own = provinceScope(req);
      // A province key asking for another province (directly or through a region) is refused.
      if (own !== undefined) {
        if (q.province && q.province !== own) throw forbidden();
        if (q.region && provinceOf(q.region) !== own) throw forbidden();
      }
      const filter = {
        provinceCode: own ?? q.province,
        regionCode: q.region,
        rule: q.rule,
        status: q.status,
        sourceId: q.source,
      };
      const { rows, next_cursor } = await readPage(
        app.cursors,
        q,
        { list: 'findings', filters: filter },
        IdKey,
        (after, take) => listFindingsView(app.ctx.db, { ...filter, afterId: after?.id, limit: take }),
        (f) => ({ id: Number(f.id) }),
      );
      return { data: rows.map(findingJson), next_cursor };
    },
  );

  app.post(
    '/findings/:id/ack',
    {
      config: { access: 'key' },
      schema: {
        tags: ['findings'],
        summary: 'Acknowledge an open finding (its province or an admin), with a note',
        security: [{ apiKey: [] }],
        params: z.object({ id: z.coerce.number().int().positive() }),
        body: z
          .object({ note: z.string().trim().max(2000).optional().describe('what is being done about it') })
          .optional()
          .default({}),
        response: { 200: Finding, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req) => {
      const { db } = app.ctx;
      const existing = await getFindingView(db, req.params.id);
      if (req.caller.role === 'province' && (!existing || !canSeeProvince(req.caller, existing.province_code)))
        throw forbidden();
      if (!existing) throw notFound('Temuan');
      const { actor, actorRole } = actorOf(req);
      const note = req.body?.note ?? null;
      const outcome = await acknowledgeFindingById(db, { id: existing.id, by: actor, note, now: new Date() });
      if (outcome === 'already_resolved') throw new ApiError(409, 'conflict', 'Temuan ini sudah selesai (resolved).');
      if (outcome === 'already_acknowledged')
        throw new ApiError(409, 'conflict', 'Temuan ini sudah diakui sebelumnya.');
      if (outcome === 'not_found') throw notFound('Temuan');
      await writeAudit(db, {
        actor,
        actorRole,
        action: 'finding.ack',
        target: `finding:${existing.id}`,
        provinceCode: existing.province_code,
        reason: note,
        details: { code: existing.code },
      });
      const updated = await getFindingView(db, existing.id);
      return findingJson(updated!);
    },
  );
};
