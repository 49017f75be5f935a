import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { createTask } from 'node-cron';
import { z } from 'zod';
import {
  calendarDateIn,
  cancelRun,
  getRun,
  getRunProgress,
  listRuns,
  listSourceFetches,
  RunNotActiveError,
  RunScopeError,
  writeAudit,
  type Run as RunRow,
  type RunScope,
} from '@pksync/db';
import { triggerRun } from '@pksync/queue';
import { provinceOf, regionByCode } from '@pksync/reference';
import { actorOf, canSeeProvince, provinceScope } from '../auth.ts';
import { ApiError, badRequest, ErrorBody, forbidden, notFound } from '../errors.ts';
import { PageQuery, pageOf, readPage } from '../paging.ts';
import { CalendarDate, iso, isoReq, IsoTime, Reason, Run, RunDetail, RunScopeBody } from '../schemas.ts';

export function runJson(r: RunRow, progress: { total: number; done: number; failed: number }) {
  return {
    id: r.id,
    scope: { kind: r.scope_kind, value: r.scope_value },
    trigger: r.trigger,
    requested_by: r.requested_by,
    reason: r.reason,
    as_of: r.as_of,
    status: r.status,
    generation: r.generation,
    resumes: r.resumes,
    counts: (r.counts ?? {}) as Record<string, unknown>,
    version_published: r.version_published,
    error: r.error,
    created_at: isoReq(r.created_at as unknown as Date),
    started_at: iso(r.started_at as unknown as Date | null),
    finished_at: iso(r.finished_at as unknown as Date | null),
    progress,
  };
}

/** When the scheduler's next national run is due (SYNC_CRON in SYNC_TIMEZONE), or null. */
function nextScheduledRun(cron: string, timezone: string): string | null {
  try {
    const task = createTask(cron, () => {}, { timezone });
    const next = task.getNextRuns(1)[0] ?? null;
    void task.destroy();
    return next ? next.toISOString() : null;
  } catch {
    return null;
  }
}

/** The region a source belongs to, or null. */
async function sourceRegion(req: FastifyRequest, id: string): Promise<string | null> {
  const row = await req.server.ctx.db
    .selectFrom('sources')
    .select('region_code')
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.region_code ?? null;
}

/**
 * Starts a run for a scope the caller may trigger (admin: anything; province: its own province,
 * regions and sources), audited, and returns it; a run already queued or running for the same
 * scope is returned instead of a second one. Shared by `POST /sync` and uploads.
 */
export async function startRun(
  req: FastifyRequest,
  scope: RunScope,
  reason: string | null,
  asOf?: string,
): Promise<{ run: RunRow; created: boolean }> {
  const { db, queues, schedule } = req.server.ctx;
  if (!queues) throw new ApiError(503, 'unavailable', 'Antrean (Redis) tidak tersedia; coba lagi nanti.');
  const { actor, actorRole } = actorOf(req);
  let province: string | null = null;
  if (scope.kind === 'province' || scope.kind === 'region') province = provinceOf(scope.value);
  if (scope.kind === 'source') {
    const region = await sourceRegion(req, scope.value);
    // Province keys learn nothing about sources outside their province, nor whether they exist.
    if (req.caller.role === 'province' && (!region || !canSeeProvince(req.caller, provinceOf(region))))
      throw forbidden();
    province = region ? provinceOf(region) : null;
  }
  if (req.caller.role !== 'admin' && (province === null || !canSeeProvince(req.caller, province))) throw forbidden();
  let result;
  try {
    result = await triggerRun(db, queues, {
      scope,
      trigger: 'manual',
      requestedBy: actor,
      reason,
      asOf: asOf ?? calendarDateIn(schedule.timezone),
    });
  } catch (e) {
    if (e instanceof RunScopeError) throw badRequest('body.scope', `cakupan tidak dapat disinkronkan (${e.message})`);
    throw e;
  }
  await writeAudit(db, {
    actor,
    actorRole,
    action: 'sync.trigger',
    target: `run:${result.run.id}`,
    provinceCode: province,
    reason,
    details: {
      scope: scope.kind === 'national' ? 'national' : `${scope.kind}:${scope.value}`,
      created: result.created,
    },
  });
  return { run: result.run, created: result.created };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Keyset values of the runs list: created_at to the microsecond (listRuns' RunKey) and id. */
const RunKey = z
  .object({ at: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/), id: z.string().regex(UUID_RE) })
  .strict();

/** `POST /sync`, `GET /runs`, `GET /runs/{id}`, `POST /runs/{id}/cancel`. */
export const runRoutes: FastifyPluginAsyncZod = async (app) => {
  const { rateLimit } = app.ctx;
  app.post(
    '/sync',
    {
      config: { access: 'key', rateLimit: { max: rateLimit.max, timeWindow: rateLimit.timeWindowMs } },
      schema: {
        tags: ['pipeline'],
        summary: 'Trigger a run; a second trigger for a scope already queued or running returns the same run',
        security: [{ apiKey: [] }],
        body: z.object({
          scope: RunScopeBody,
          reason: Reason.describe('why (written to the audit log)'),
          as_of: CalendarDate.optional().describe('YYYY-MM-DD (1900–9999); default: today in the sync time zone'),
        }),
        response: {
          202: z.object({ run_id: z.string(), created: z.boolean(), status: z.string() }),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const s = req.body.scope;
      let scope: RunScope;
      if (s === 'national') scope = { kind: 'national' };
      else if ('province' in s) scope = { kind: 'province', value: s.province };
      else if ('region' in s) {
        if (!regionByCode(s.region)) throw badRequest('body.scope.region', `kode wilayah ${s.region} tidak dikenal`);
        scope = { kind: 'region', value: s.region };
      } else scope = { kind: 'source', value: s.source };
      const { run, created } = await startRun(req, scope, req.body.reason, req.body.as_of);
      return reply.code(202).send({ run_id: run.id, created, status: run.status });
    },
  );

  app.get(
    '/runs',
    {
      config: { access: 'key' },
      schema: {
        tags: ['pipeline'],
        summary: 'Runs, newest first, paged by cursor (a province key sees the runs that cover its sources)',
        security: [{ apiKey: [] }],
        querystring: PageQuery.extend({
          status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']).optional(),
        }),
        response: {
          200: pageOf(Run).extend({
            schedule: z.object({
              cron: z.string(),
              timezone: z.string(),
              next_at: IsoTime.nullable().describe('the next scheduled national run'),
            }),
          }),
          400: ErrorBody,
          401: ErrorBody,
        },
      },
    },
    async (req) => {
      const filter = { provinceCode: provinceScope(req), status: req.query.status };
      const { rows, next_cursor } = await readPage(
        app.cursors,
        req.query,
        { list: 'runs', filters: filter },
        RunKey,
        (after, take) => listRuns(app.ctx.db, { ...filter, limit: take, after }),
        (r) => r.key,
      );
      const { cron, timezone } = app.ctx.schedule;
      return {
        data: rows.map(({ run, progress }) => runJson(run, progress)),
        next_cursor,
        schedule: { cron, timezone, next_at: nextScheduledRun(cron, timezone) },
      };
    },
  );

  app.get(
    '/runs/:id',
    {
      config: { access: 'key' },
      schema: {
        tags: ['pipeline'],
        summary: 'One run with per-source progress and outcome',
        security: [{ apiKey: [] }],
        params: z.object({ id: z.string().max(100) }),
        response: { 200: RunDetail, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const province = provinceScope(req);
      const run = await getRun(app.ctx.db, req.params.id);
      const fetches = run
        ? await listSourceFetches(app.ctx.db, run.id, { provinceCode: province, withSource: true })
        : [];
      if (province !== undefined && fetches.length === 0) throw forbidden();
      if (!run) throw new ApiError(404, 'not_found', 'Run tidak ditemukan.');
      const sources = fetches.map((f) => ({
        source_id: f.source_id,
        agency: f.agency ?? null,
        region_code: f.region_code ?? null,
        status: f.status,
        attempts: f.attempts,
        counts: (f.counts ?? {}) as Record<string, unknown>,
        error_code: f.error_code,
        error_message: f.error_message,
        started_at: iso(f.started_at as unknown as Date | null),
        finished_at: iso(f.finished_at as unknown as Date | null),
      }));
      const done = sources.filter((s) => ['succeeded', 'unchanged', 'failed'].includes(s.status)).length;
      const failed = sources.filter((s) => s.status === 'failed').length;
      return { ...runJson(run, { total: sources.length, done, failed }), sources };
    },
  );

  app.post(
    '/runs/:id/cancel',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['pipeline'],
        summary: 'Cancel a queued or running run: it ends for good and frees its scope (admin, audited)',
        security: [{ apiKey: [] }],
        params: z.object({ id: z.string().max(100) }),
        body: z.object({ reason: Reason.describe('why (kept with the run and written to the audit log)') }),
        response: { 200: Run, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req) => {
      const { id } = req.params;
      if (!UUID_RE.test(id)) throw notFound('Run');
      const { actor, actorRole } = actorOf(req);
      let run;
      try {
        run = await cancelRun(app.ctx.db, id, { by: actor, actorRole, reason: req.body.reason });
      } catch (e) {
        if (e instanceof RunNotActiveError)
          throw new ApiError(
            409,
            'conflict',
            `Run sudah ${e.run.status}; hanya run yang antre atau berjalan yang dapat dibatalkan.`,
          );
        throw e;
      }
      if (!run) throw notFound('Run');
      const tally = (await getRunProgress(app.ctx.db, id))?.sources;
      return runJson(run, { total: tally?.total ?? 0, done: tally?.done ?? 0, failed: tally?.failed ?? 0 });
    },
  );
};
