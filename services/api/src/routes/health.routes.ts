import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pingDatabase } from '@pksync/db';
import { ErrorBody, errorBody } from '../errors.ts';

const Check = z.enum(['ok', 'down', 'not_configured']);

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Liveness and readiness (PostgreSQL and Redis reachable). */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    {
      config: { access: 'none' },
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process answers',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'none' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: PostgreSQL and Redis are reachable',
        response: {
          200: z.object({ status: z.literal('ready'), checks: z.object({ postgres: Check, redis: Check }) }),
          503: z
            .object({
              status: z.literal('unavailable'),
              checks: z.object({ postgres: Check, redis: Check }),
              error: ErrorBody.shape.error.describe('the error envelope, naming what is down'),
            })
            .describe('a dependency is down (each check answers within 2 s); the API recovers by itself'),
          500: ErrorBody,
        },
      },
    },
    async (_req, reply) => {
      const { db, redis } = app.ctx;
      const [pg, rd] = await Promise.allSettled([
        withTimeout(pingDatabase(db), 2000),
        redis ? withTimeout(redis.ping(), 2000) : Promise.resolve('skip'),
      ]);
      const checks = {
        postgres: pg.status === 'fulfilled' ? ('ok' as const) : ('down' as const),
        redis: !redis ? ('not_configured' as const) : rd.status === 'fulfilled' ? ('ok' as const) : ('down' as const),
      };
      if (checks.postgres === 'ok' && checks.redis !== 'down') return { status: 'ready' as const, checks };
      const down = [checks.postgres === 'down' && 'PostgreSQL', checks.redis === 'down' && 'Redis'].filter(Boolean);
      return reply.code(503).send({
        status: 'unavailable' as const,
        checks,
        ...errorBody('unavailable', `Tidak dapat dihubungi: ${down.join(' dan ')}.`),
      });
    },
  );
};
