import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getOfficerHistoryView, listOfficers, VersionNotFoundError } from '@pksync/db';
import { canSeeProvince } from '../auth.ts';
import { ApiError, badRequest, ErrorBody, forbidden, notFound } from '../errors.ts';
import {
  iso,
  IsoTime,
  Level,
  Limit,
  Officer,
  OfficerPage,
  OfficerStatusQuery,
  ProvinceCode,
  RegionCode,
} from '../schemas.ts';
import { officerFor } from '../views.ts';

/** Opaque cursor: the version the page was read at and the last record id. */
function encodeCursor(version: number, id: number): string {
  return Buffer.from(JSON.stringify({ v: version, id }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { v: number; id: number } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    const c = z
      .object({ v: z.number().int().min(0), id: z.number().int().min(0) })
      .strict()
      .parse(parsed);
    return c;
  } catch {
    throw badRequest('querystring.cursor', 'kursor tidak sah; gunakan next_cursor dari halaman sebelumnya');
  }
}

/** NIP as agencies write it (`19850312 201001 1 003`) to its 18 digits. */
export function normaliseNipParam(nip: string): string {
  const digits = nip.replace(/[\s.-]/g, '');
  if (!/^\d{18}$/.test(digits)) throw badRequest('params.nip', 'NIP harus 18 digit');
  return digits;
}

const Assignment = z.object({
  region_code: z.string(),
  source_id: z.string(),
  unit: z.string(),
  level: z.string(),
  grade: z.string(),
  status: z.string(),
  active: z.boolean(),
  from_version: z.number().int(),
  to_version: z.number().int().nullable(),
  from_at: IsoTime.nullable(),
  to_at: IsoTime.nullable(),
});

const Change = z.object({
  version: z.number().int(),
  published_at: IsoTime.nullable(),
  change: z.enum(['added', 'removed', 'changed']),
  fields: z.array(z.string()),
  reason: z.string(),
  region_code: z.string(),
  source_id: z.string(),
  previous_region_code: z.string().nullable().describe('for a transfer (R10): where the officer came from'),
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
        querystring: z.object({
          province: ProvinceCode.optional(),
          region: RegionCode.optional(),
          level: Level.optional(),
          status: OfficerStatusQuery.optional().describe('a status, or active/inactive (R5)'),
          q: z.string().trim().min(1).max(200).optional().describe('free text in the name'),
          cursor: z.string().max(200).optional(),
          limit: Limit(500, 50),
        }),
        response: { 200: OfficerPage, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query;
      const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
      try {
        const page = await listOfficers(
          app.ctx.db,
          { provinceCode: q.province, regionCode: q.region, level: q.level, status: q.status, q: q.q },
          { limit: q.limit, afterId: cursor?.id, version: cursor?.v },
        );
        return {
          version: page.version,
          data: page.officers.map((o) => officerFor(req.caller, o)),
          next_cursor: page.nextAfterId === null ? null : encodeCursor(page.version, page.nextAfterId),
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
        summary: 'One officer with history (assignments, changes, transfers) — province and admin keys only',
        security: [{ apiKey: [] }],
        params: z.object({ nip: z.string().min(1).max(40) }),
        response: {
          200: z.object({
            officer: Officer,
            current: z.boolean().describe('false when the officer is no longer in the register'),
            assignments: z.array(Assignment),
            changes: z.array(Change),
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
      const h = await getOfficerHistoryView(app.ctx.db, nip);
      // A province key gets the same 403 for "elsewhere" and "nowhere": neither is revealed.
      if (req.caller.role === 'province' && (!h || !canSeeProvince(req.caller, h.officer.provinceCode)))
        throw forbidden();
      if (!h) throw notFound('Pejabat dengan NIP ini');
      if (req.caller.role === 'public') throw new ApiError(401, 'unauthorized', 'unreachable');
      return {
        officer: officerFor(req.caller, h.officer),
        current: h.current,
        assignments: h.assignments.map((a) => ({
          region_code: a.regionCode,
          source_id: a.sourceId,
          unit: a.unit,
          level: a.level,
          grade: a.grade,
          status: a.status,
          active: a.active,
          from_version: a.fromVersion,
          to_version: a.toVersion,
          from_at: iso(a.fromAt),
          to_at: iso(a.toAt),
        })),
        changes: h.changes.map((c) => ({
          version: c.version,
          published_at: iso(c.publishedAt),
          change: c.change,
          fields: c.fields,
          reason: c.reason,
          region_code: c.regionCode,
          source_id: c.sourceId,
          previous_region_code: c.previousRegionCode,
        })),
      };
    },
  );
};
