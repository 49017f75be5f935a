import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getRegionStats, type RegionStats, type RegionSummary as RegionRow } from '@pksync/db';
import { LEVEL_CODES, regionByCode } from '@pksync/reference';
import { canSeeProvince, type Caller } from '../auth.ts';
import { ErrorBody, notFound } from '../errors.ts';
import { iso, RegionCode, RegionDetail, RegionSummary } from '../schemas.ts';

type Summary = z.infer<typeof RegionSummary>;
type Cell = { approved: number; need: number; filled: number; shortfall: number; available_formation: number } | null;

/**
 * One region as the API shows it. The figures are `getRegionSummaries`' (R12 formation, R17
 * available formation, R13 coverage, R9 staleness, computed there once for the API and the demo
 * alike); a province shows its whole area (its own agencies and all its regencies/cities). Only
 * the names change here.
 */
function summarise(r: RegionRow, stats: RegionStats, caller: Caller): Summary {
  const a = r.area;
  const formation = Object.fromEntries(
    LEVEL_CODES.map((l): [string, Cell] => {
      const f = a.formationByLevel[l];
      return [
        l,
        f.formasi === null
          ? null
          : {
              approved: f.formasi,
              need: f.kebutuhan ?? 0,
              filled: f.terisi,
              shortfall: f.kekurangan ?? 0,
              // R17, each region's own added up for a province (sumFormationFigures).
              available_formation: f.available ?? 0,
            },
      ];
    }),
  ) as Summary['formation'];
  const open = canSeeProvince(caller, r.parentCode ?? r.code)
    ? r.level === 'province'
      ? (stats.openFindingsByProvince.get(r.code) ?? 0)
      : (stats.openFindingsByRegion.get(r.code) ?? 0)
    : null;
  return {
    code: r.code,
    name: r.name,
    level: r.level,
    kind: r.kind,
    parent_code: r.parentCode,
    // A regency/city is covered or not: 1 or 0 of 1.
    coverage: r.coverage ?? { covered: r.covered ? 1 : 0, total: 1 },
    officers: a.activeByLevel,
    active_officers: a.active,
    formation_year: stats.year,
    formation,
    shortfall: LEVEL_CODES.reduce((sum, l) => sum + (formation[l]?.shortfall ?? 0), 0),
    available_formation: LEVEL_CODES.reduce((sum, l) => sum + (formation[l]?.available_formation ?? 0), 0),
    last_success_at: iso(a.lastSuccessAt),
    stale: a.stale,
    sources: a.sources,
    stale_sources: a.staleSources,
    open_findings: open,
  };
}

/** `GET /regions`, `GET /regions/{code}`. */
export const regionRoutes: FastifyPluginAsyncZod = async (app) => {
  // Figures change only with a version or a fetch: a short cache keeps the national list cheap.
  let cached: { at: number; stats: RegionStats } | null = null;
  const stats = async (): Promise<RegionStats> => {
    if (cached && Date.now() - cached.at < 5_000) return cached.stats;
    const year = Number(
      new Intl.DateTimeFormat('en-CA', { timeZone: app.ctx.schedule.timezone, year: 'numeric' }).format(new Date()),
    );
    const s = await getRegionStats(app.ctx.db, year);
    cached = { at: Date.now(), stats: s };
    return s;
  };

  app.get(
    '/regions',
    {
      config: { access: 'public' },
      schema: {
        tags: ['register'],
        summary: 'Every region with coverage, active officers and formation by level, and source freshness',
        querystring: z.object({
          level: z.enum(['province', 'regency']).optional(),
          province: z
            .string()
            .regex(/^\d{2}$/)
            .optional()
            .describe('only this province and its regencies/cities'),
        }),
        response: { 200: z.object({ data: z.array(RegionSummary) }), 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => {
      const s = await stats();
      const list = [...s.regions.values()].filter(
        (r) =>
          (!req.query.level || r.level === req.query.level) &&
          (!req.query.province || r.code === req.query.province || r.parentCode === req.query.province),
      );
      return { data: list.map((r) => summarise(r, s, req.caller)) };
    },
  );

  app.get(
    '/regions/:code',
    {
      config: { access: 'public' },
      schema: {
        tags: ['register'],
        summary: 'One region, with its regencies/cities when it is a province',
        params: z.object({ code: RegionCode }),
        response: { 200: RegionDetail, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      // An unknown code is a 404 without reading the register.
      const s = regionByCode(req.params.code) ? await stats() : null;
      const region = s?.regions.get(req.params.code);
      if (!s || !region) throw notFound(`Wilayah ${req.params.code}`);
      const regencies =
        region.level === 'province'
          ? [...s.regions.values()].filter((r) => r.parentCode === region.code).map((r) => summarise(r, s, req.caller))
          : [];
      return { ...summarise(region, s, req.caller), regencies };
    },
  );
};
