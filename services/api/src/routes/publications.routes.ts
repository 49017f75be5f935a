import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getPublication, getPublicationDiffView, listPublications, type Db, type PublicationInfo } from '@pksync/db';
import { canSeeProvince } from '../auth.ts';
import { ErrorBody, notFound } from '../errors.ts';
import { PageQuery, pageOf, readPage } from '../paging.ts';
import { isoReq, PG_INT_MAX, ProvinceCode, Publication, PublicationChange, RegionCode } from '../schemas.ts';

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

/** Keyset values of the publications list (version descending) and of a version's diff (NIP ascending). */
const VersionKey = z.object({ version: z.number().int().min(1).max(PG_INT_MAX) }).strict();
const NipKey = z.object({ nip: z.string().min(1).max(64) }).strict();

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
        summary: 'Published versions, newest first (paged by cursor)',
        querystring: PageQuery,
        response: {
          200: pageOf(Publication),
          400: ErrorBody,
          401: ErrorBody,
        },
      },
    },
    async (req) => {
      const { rows, next_cursor } = await readPage(
        app.cursors,
        req.query,
        { list: 'publications', filters: {} },
        VersionKey,
        (after, take) => listPublications(app.ctx.db, { limit: take, afterVersion: after?.version }),
        (p) => ({ version: p.version }),
      );
      return { data: rows.map(publicationJson), next_cursor };
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
        summary:
          'The diff of a version, by NIP, paged by cursor: officers added, removed, changed (NIP only within the caller’s province)',
        params: VersionParam,
        querystring: PageQuery.extend({
          change: z.enum(['added', 'removed', 'changed']).optional(),
          province: ProvinceCode.optional(),
          region: RegionCode.optional(),
        }),
        response: {
          200: pageOf(PublicationChange).extend({ version: z.number().int() }),
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
      const filter = { change: q.change, provinceCode: q.province, regionCode: q.region };
      const { rows, next_cursor } = await readPage(
        app.cursors,
        q,
        { list: 'publications.diff', filters: { version, ...filter } },
        NipKey,
        (after, take) => getPublicationDiffView(app.ctx.db, version, { ...filter, limit: take, afterNip: after?.nip }),
        (c) => ({ nip: c.nip }),
      );
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
        next_cursor,
      };
    },
  );
};
