import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getOfficerHistory, listOfficers, VersionNotFoundError } from '@pksync/db';
import { provinceOf } from '@pksync/reference';
import { canSeeProvince } from '../auth.ts';
import { badRequest, ErrorBody, forbidden, notFound } from '../errors.ts';
import { PageQuery } from '../paging.ts';
import {
  iso,
  isoReq,
  IsoTime,
  Level,
  Officer,
  OfficerPage,
  OfficerStatusQuery,
  PG_INT_MAX,
  ProvinceCode,
  RegionCode,
} from '../schemas.ts';
import { officerFor } from '../views.ts';

/**
 * Keyset values of the register's pages: the version the first page was read at (the walk stays
 * on it, R14) and the last record id. A version beyond PostgreSQL's `integer` was never published.
 */
const OfficerKey = z
  .object({ v: z.number().int().min(0).max(PG_INT_MAX), id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) })
  .strict();

/** NIP as agencies write it (`19850312 201001 1 003`) to its 18 digits. */
export function normaliseNipParam(nip: string): string {
  const digits = nip.replace(/[\s.-]/g, '');
  if (!/^\d{18}$/.test(digits)) throw badRequest('params.nip', 'NIP harus 18 digit');
  return digits;
}

const HistoryRecord = z.object({
  source_id: z.string(),
  region_code: z.string(),
  name: z.string(),
  level: z.string(),
  grade: z.string(),
  unit: z.string(),
  tmt_jabatan: z.string(),
  status: z.string(),
  active: z.boolean(),
  past_retirement_age: z.boolean(),
  from_version: z.number().int(),
  to_version: z.number().int().nullable().describe('null: the current record'),
});

const Assignment = z.object({
  source_id: z.string(),
  region_code: z.string(),
  unit: z.string(),
  from_version: z.number().int(),
  to_version: z.number().int().nullable(),
  from_at: IsoTime.nullable(),
  to_at: IsoTime.nullable(),
});

const Change = z.object({
  version: z.number().int(),
  published_at: IsoTime,
  as_of: z.string(),
  change: z.enum(['added', 'removed', 'changed']),
  fields: z.array(z.string()),
  reason: z.string(),
  region_code: z.string(),
  source_id: z.string(),
  previous_region_code: z.string().nullable().describe('for a transfer (R10): where the officer came from'),
});

const Transfer = z.object({
  version: z.number().int(),
  at: IsoTime,
  as_of: z.string(),
  from_region_code: z.string().nullable(),
  to_region_code: z.string(),
  from_source_id: z.string().nullable(),
  to_source_id: z.string(),
});

/** The register: paged list with filters and name search, and one officer with history. */
export const officerRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/officers',
    {
      config: { access: 'public' },
      schema: {
        tags: ['register'],
        summary: 'The register, paged by cursor (public view without personal data outside the key’s province)',
        querystring: PageQuery.extend({
          province: ProvinceCode.optional(),
          region: RegionCode.optional(),
          level: Level.optional(),
          status: OfficerStatusQuery.optional().describe('a status, or active/inactive (R5)'),
          q: z.string().trim().min(1).max(200).optional().describe('free text in the name'),
        }),
        response: { 200: OfficerPage, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query;
      const filter = { provinceCode: q.province, regionCode: q.region, level: q.level, status: q.status, q: q.q };
      // The shared codec; listOfficers itself reads one more than a page and says where the next begins.
      const scope = { list: 'officers', filters: filter };
      const cursor = await app.cursors.open(q.cursor, scope, OfficerKey);
      try {
        const page = await listOfficers(app.ctx.db, filter, {
          limit: q.limit,
          afterId: cursor?.id,
          version: cursor?.v,
        });
        return {
          version: page.version,
          data: page.officers.map((o) => officerFor(req.caller, o)),
          next_cursor:
            page.nextAfterId === null ? null : await app.cursors.seal(scope, { v: page.version, id: page.nextAfterId }),
        };
      } catch (e) {
        if (e instanceof VersionNotFoundError)
          throw badRequest('querystring.cursor', 'kursor merujuk versi yang tidak ada');
        throw e;
      }
    },
  );

  app.get(
    '/officers/:nip',
    {
      config: { access: 'key' },
      schema: {
        tags: ['register'],
        summary: 'One officer with history (records, assignments, changes, transfers) — province and admin keys only',
        security: [{ apiKey: [] }],
        params: z.object({ nip: z.string().min(1).max(40) }),
        response: {
          200: z.object({
            nip: z.string(),
            current: Officer.nullable().describe(
              'the current register entry; null when the officer has left the register',
            ),
            records: z.array(HistoryRecord).describe('every version of the record, oldest first'),
            assignments: z.array(Assignment).describe('consecutive periods in one agency, region and unit'),
            changes: z.array(Change),
            transfers: z.array(Transfer),
          }),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (req) => {
      const nip = normaliseNipParam(req.params.nip);
      const h = await getOfficerHistory(app.ctx.db, nip);
      // Scope: the province of the current record, or of the last one for an officer who left.
      const lastRegion = h ? (h.current?.region_code ?? h.records[h.records.length - 1]?.regionCode ?? null) : null;
      // A province key gets the same 403 for "elsewhere" and "nowhere": neither is revealed.
      if (req.caller.role === 'province' && (!lastRegion || !canSeeProvince(req.caller, provinceOf(lastRegion))))
        throw forbidden();
      if (!h) throw notFound('Pejabat dengan NIP ini');
      const c = h.current;
      return {
        nip: h.nip,
        current: c
          ? officerFor(req.caller, {
              id: Number(c.id),
              nip: c.nip,
              name: c.name,
              gender: c.gender,
              birthDate: c.birth_date,
              level: c.level,
              grade: c.grade,
              unit: c.unit,
              regionCode: c.region_code,
              provinceCode: c.province_code,
              sourceId: c.source_id,
              tmtJabatan: c.tmt_jabatan,
              status: c.status,
              active: c.active,
              email: c.email,
              phone: c.phone,
              pastRetirement: c.past_retirement,
            })
          : null,
        records: h.records.map((r) => ({
          source_id: r.sourceId,
          region_code: r.regionCode,
          name: r.name,
          level: r.level,
          grade: r.grade,
          unit: r.unit,
          tmt_jabatan: r.tmtJabatan,
          status: r.status,
          active: r.active,
          past_retirement_age: r.pastRetirement,
          from_version: r.validFrom,
          to_version: r.validTo,
        })),
        assignments: h.assignments.map((a) => ({
          source_id: a.sourceId,
          region_code: a.regionCode,
          unit: a.unit,
          from_version: a.fromVersion,
          to_version: a.toVersion,
          from_at: iso(a.from),
          to_at: iso(a.to),
        })),
        changes: h.changes.map((ch) => ({
          version: ch.version,
          published_at: isoReq(ch.publishedAt),
          as_of: ch.asOf,
          change: ch.change,
          fields: ch.fields,
          reason: ch.reason,
          region_code: ch.regionCode,
          source_id: ch.sourceId,
          previous_region_code: ch.previousRegionCode,
        })),
        transfers: h.transfers.map((t) => ({
          version: t.version,
          at: isoReq(t.at),
          as_of: t.asOf,
          from_region_code: t.fromRegionCode,
          to_region_code: t.toRegionCode,
          from_source_id: t.fromSourceId,
          to_source_id: t.toSourceId,
        })),
      };
    },
  );
};
