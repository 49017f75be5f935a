import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VersionNotFoundError } from '@pksync/db';
import { badRequest, ErrorBody } from '../errors.ts';
import { openExport } from '../export/export.ts';
import { Level, OfficerStatusQuery, PG_INT_MAX, ProvinceCode, RegionCode } from '../schemas.ts';

/** The register as a file (CSV with BOM, JSON, XLSX), streamed. */
export const exportRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/export',
    {
      config: { access: 'public' },
      schema: {
        tags: ['register'],
        summary:
          'The register as a CSV, JSON or XLSX file, streamed (public view without personal data outside the key’s province)',
        produces: ['text/csv', 'application/json', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
        querystring: z.object({
          format: z.enum(['csv', 'json', 'xlsx']).default('csv'),
          province: ProvinceCode.optional(),
          region: RegionCode.optional(),
          level: Level.optional(),
          status: OfficerStatusQuery.optional(),
          version: z.coerce
            .number()
            .int()
            .min(1)
            .max(PG_INT_MAX, `paling besar ${PG_INT_MAX}`)
            .optional()
            .describe('a published version; default the latest'),
        }),
        response: {
          200: z.unknown().describe('the file: CSV (UTF-8 with BOM), JSON {version, data: [...]} or XLSX, by format'),
          400: ErrorBody,
          401: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      let file;
      try {
        file = await openExport(app.ctx.db, {
          format: q.format,
          filter: { provinceCode: q.province, regionCode: q.region, level: q.level, status: q.status },
          version: q.version,
          caller: req.caller,
        });
      } catch (e) {
        if (e instanceof VersionNotFoundError)
          throw badRequest('querystring.version', `versi ${e.version} belum pernah diterbitkan`);
        throw e;
      }
      const scope = q.region ?? q.province ?? 'nasional';
      file.stream.on('error', (err) => req.log.error({ err }, 'export stream failed'));
      return reply
        .header('content-type', file.contentType)
        .header('content-disposition', `attachment; filename="register-v${file.version}-${scope}.${file.extension}"`)
        .header('x-register-version', String(file.version))
        .header('cache-control', 'no-store')
        .send(file.stream as never);
    },
  );
};
