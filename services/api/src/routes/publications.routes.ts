import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getPublication, getPublicationDiffView, listPublications, type Db, type PublicationInfo } from '@pksync/db';
import { canSeeProvince } from '../auth.ts';
import { ErrorBody, notFound } from '../errors.ts';
import { isoReq, Limit, PG_INT_MAX, ProvinceCode, Publication, PublicationChange, RegionCode } from '../schemas.ts';

function publicationJson(p: PublicationInfo) {
  return {
    version: p.version,
    run_id: p.runId,
    as_of: p.asOf,
    published_at: isoReq(p.publishedAt),
    counts: p.counts,
  };
}

const VersionParam = z.object({ version: z.coerce.number().int().min(1) });

/**
 * The publication of a version in a path, or null. A version beyond PostgreSQL's `integer` was
 * never published: it is a 404 like any other (docs/decisions.md § Hostile input), not a query.
 */
function findPublication(db: Db, version: number): Promise<PublicationInfo | null> {
  return version > PG_INT_MAX ? Promise.resolve(null) : getPublication(db, version);
}

/** `GET /publications`, `GET /publications/{version}`, `GET /publications/{version}/diff`. */
export const publicationRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/publications',
    {
      config: { access: 'public' },
      schema: {
        tags: ['register'],
        summary: 'Published versions, newest first',
        querystring: z.object({
          limit: Limit(500, 50),
          before: z.coerce.number().int().min(1).max(PG_INT_MAX, `paling besar ${PG_INT_MAX}`).optional(),
        }),
        response: {
          200: z.object({ data: z.array(Publication), next_before: z.number().int().nullable() }),
          400: ErrorBody,
          401: ErrorBody,
        },
      },
    },
    async (req) => {
      const rows = await listPublications(app.ctx.db, { limit: req.query.limit, before: req.query.before });
      return {
        data: rows.map(publicationJson),
        next_before: rows.length === req.query.limit ? (rows[rows.length - 1]?.version ?? null) : null,
      };
    },
  );

  app.get(
    '/publications/:version',
    {
      config: { access: 'public' },
      schema: {
        tags: ['register'],
        summary: 'One published version with its counts',
        params: VersionParam,
        response: { 200: Publication, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const p = await findPublication(app.ctx.db, req.params.version);
      if (!p) throw notFound(`Versi ${req.params.version}`);
      return publicationJson(p);
    },
  );

  app.get(
    '/publications/:version/diff',
    {
      config: { access: 'public' },
      schema: {
        tags: ['register'],
        summary: 'The diff of a version: officers added, removed, changed (NIP only within the caller’s province)',
        params: VersionParam,
        querystring: z.object({
          change: z.enum(['added', 'removed', 'changed']).optional(),
          province: ProvinceCode.optional(),
          region: RegionCode.optional(),
          limit: Limit(5000, 500),
          offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
        }),
        response: {
          200: z.object({
            version: z.number().int(),
            data: z.array(PublicationChange),
            next_offset: z.number().int().nullable(),
          }),
          400: ErrorBody,
          401: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (req) => {
      const { version } = req.params;
      const p = await findPublication(app.ctx.db, version);
      if (!p) throw notFound(`Versi ${version}`);
      const q = req.query;
      const rows = await getPublicationDiffView(app.ctx.db, version, {
        limit: q.limit,
        offset: q.offset,
        change: q.change,
        provinceCode: q.province,
        regionCode: q.region,
      });
      return {
        version,
        data: rows.map((c) => {
          const base = {
            change: c.change,
            fields: c.fields,
            region_code: c.region_code,
            source_id: c.source_id,
            previous_region_code: c.previous_region_code,
            reason: c.reason,
          };
          return canSeeProvince(req.caller, c.province_code) ? { nip: c.nip, ...base } : base;
        }),
        next_offset: rows.length === q.limit ? q.offset + q.limit : null,
      };
    },
  );
};
