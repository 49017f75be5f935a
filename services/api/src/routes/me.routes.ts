import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.ts';

/** Who the key belongs to: the web console checks a key with this at sign-in. */
export const meRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/me',
    {
      config: { access: 'key' },
      schema: {
        tags: ['auth'],
        summary: 'The role, province and name of the calling key',
        security: [{ apiKey: [] }],
        response: {
          200: z.object({ role: z.enum(['admin', 'province']), province: z.string().nullable(), name: z.string() }),
          401: ErrorBody,
        },
      },
    },
    async (req) => {
      const c = req.caller;
      if (c.role === 'public') throw new Error('unreachable: access key');
      return { role: c.role, province: c.provinceCode, name: c.name };
    },
  );
};
