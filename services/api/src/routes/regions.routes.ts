import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getRegionStats, type RegionStats } from '@pksync/db';
import { LEVEL_CODES, regenciesOf, regionByCode, regions, type Region } from '@pksync/reference';
import { canSeeProvince, type Caller } from '../auth.ts';
import { ErrorBody, notFound } from '../errors.ts';
import { iso, RegionCode, RegionDetail, RegionSummary } from '../schemas.ts';

type Summary = z.infer<typeof RegionSummary>;

/** Sum of figures over a set of region codes. */
function summarise(region: Region, stats: RegionStats, caller: Caller): Summary {
  // A province's figures cover its own agencies and all its regencies/cities (R13).
  const codes =
    region.level === 'province' ? [region.code, ...regenciesOf(region.code).map((r) => r.code)] : [region.code];
  const officers = Object.fromEntries(LEVEL_CODES.map((l) => [l, 0])) as Record<(typeof LEVEL_CODES)[number], number>;
  const formation = Object.fromEntries(LEVEL_CODES.map((l) => [l, null])) as Record<
    (typeof LEVEL_CODES)[number],
    { approved: number; need: number; filled: number; shortfall: number } | null
  >;
  let sources = 0;
  let staleSources = 0;
  let lastSuccess: Date | null = null;
  for (const code of codes) {
    const a = stats.active.get(code);
    if (a) for (const l of LEVEL_CODES) officers[l] += a.get(l) ?? 0;
    const f = stats.formations.get(code);
    if (f) {
      for (const l of LEVEL_CODES) {
        const cell = f.get(l);
        if (!cell) continue;
        const cur = formation[l] ?? { approved: 0, need: 0, filled: 0, shortfall: 0 };
        cur.approved += cell.approved;
        cur.need += cell.need;
        formation[l] = cur;
      }
    }
    const s = stats.sources.get(code);
    if (s) {
      sources += s.count;
      staleSources += s.stale;
      if (s.lastSuccessAt && (!lastSuccess || s.lastSuccessAt > lastSuccess)) lastSuccess = s.lastSuccessAt;
    }
  }
  let shortfall = 0;
  for (const l of LEVEL_CODES) {
    const cell = formation[l];
    if (!cell) continue;
    // R12: terisi = active officers at the level; kekurangan = max(kebutuhan − terisi, 0).
    cell.filled = officers[l];
    cell.shortfall = Math.max(cell.need - cell.filled, 0);
    shortfall += cell.shortfall;
  }
  const activeOf = (code: string) => [...(stats.active.get(code)?.values() ?? [])].reduce((a, b) => a + b, 0);
  // R13: a region is covered when it has an active officer; a province's coverage counts its regencies/cities.
  const coverage =
    region.level === 'province'
      ? {
          covered: regenciesOf(region.code).filter((r) => activeOf(r.code) > 0).length,
          total: regenciesOf(region.code).length,
        }
      : { covered: activeOf(region.code) > 0 ? 1 : 0, total: 1 };
  const province = region.parentCode ?? region.code;
  const open = canSeeProvince(caller, province)
    ? region.level === 'province'
      ? (stats.openFindingsByProvince.get(region.code) ?? 0)
      : (stats.openFindingsByRegion.get(region.code) ?? 0)
    : null;
  return {
    code: region.code,
    name: region.name,
    level: region.level,
    kind: region.kind,
    parent_code: region.parentCode,
    coverage,
    officers,
    active_officers: Object.values(officers).reduce((a, b) => a + b, 0),
    formation_year: stats.year,
    formation,
    shortfall,
    last_success_at: iso(lastSuccess),
    stale: staleSources > 0,
    sources,
    stale_sources: staleSources,
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
      const list = regions.filter(
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
      const region = regionByCode(req.params.code);
      if (!region) throw notFound(`Wilayah ${req.params.code}`);
      const s = await stats();
      const regencies =
        region.level === 'province' ? regenciesOf(region.code).map((r) => summarise(r, s, req.caller)) : [];
      return { ...summarise(region, s, req.caller), regencies };
    },
  );
};
