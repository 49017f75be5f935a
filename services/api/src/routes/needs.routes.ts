import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  addNeedParametersAudited,
  calendarDateIn,
  getNeedParameters,
  getNeeds,
  listNeedParameterVersions,
  NeedParametersError,
  NeedsQueryError,
  type NeedsLevelRow,
  type NeedsReport,
  type NeedsRow as NeedsRowModel,
} from '@pksync/db';
import type { NeedsLevel as NeedsLevelModel } from '@pksync/core';
import { actorOf } from '../auth.ts';
import { ApiError, badRequest, ErrorBody, notFound } from '../errors.ts';
import {
  isoReq,
  NeedParameters,
  NeedParametersInfo,
  NeedsResponse,
  ProvinceCode,
  RegionCode,
  type NeedsFigures,
} from '../schemas.ts';

/**
 * Needs planning (needs-planning-v1.md § Interface): `GET /needs` (the table per region and
 * level, public: no personal data) and the parameter set versions (public reads; an admin adds a
 * version, audited). The figures are `getNeeds`' (@pksync/db, applying @pksync/core's
 * `needsLevel`/`sumNeedsLevels`); only the names change here.
 */

/** The parameter-set version name, as the schema allows it. */
const Version = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'harus nama versi: 1–64 huruf, angka, titik, garis bawah atau minus');

/** A refused document names at most this many problems (a hostile one may have thousands). */
const MAX_LISTED_PROBLEMS = 50;

function figures(f: NeedsLevelModel): z.infer<typeof NeedsFigures> {
  return {
    formasi: f.formasi,
    kebutuhan_declared: f.kebutuhanDeclared,
    kebutuhan_computed: f.kebutuhanComputed,
    terisi: f.terisi,
    available_formation: f.availableFormation,
    retiring: { '1': f.retiring[1], '3': f.retiring[3], '5': f.retiring[5] },
    projected_shortfall: {
      '1': f.projectedShortfall[1],
      '3': f.projectedShortfall[3],
      '5': f.projectedShortfall[5],
    },
  };
}

function rowJson(r: NeedsRowModel) {
  return {
    kind: r.kind,
    code: r.code,
    name: r.name,
    parameter_version: r.parameterVersion,
    parameter_status: r.parameterStatus,
    levels: r.levels.map((l: NeedsLevelRow) => ({ level: l.level, ...figures(l) })),
    all_levels: figures(r.allLevels),
  };
}

/** `GET /needs` as JSON (snake_case), from the repository's model. */
export function needsJson(r: NeedsReport): z.infer<typeof NeedsResponse> {
  return {
    year: r.year,
    as_of: r.asOf,
    parameters: r.parameters && {
      version: r.parameters.version,
      status: r.parameters.status,
      valid_from: r.parameters.validFrom,
      source: r.parameters.source,
    },
    scope: r.scope,
    total: rowJson(r.total),
    data: r.data.map(rowJson),
  };
}

const NeedParametersDetail = NeedParametersInfo.extend({
  document: NeedParameters.describe('the whole document, as added'),
}).meta({ id: 'NeedParametersDetail' });

const NeedParametersAdded = NeedParametersDetail.extend({
  added: z.boolean().describe('false when this version was already stored with the same document (nothing changed)'),
}).meta({ id: 'NeedParametersAdded' });

/** `GET /needs`, `GET /needs/parameters`, `GET /needs/parameters/{version}`, `POST /needs/parameters`. */
export const needsRoutes: FastifyPluginAsyncZod = async (app) => {
  const today = () => calendarDateIn(app.ctx.schedule.timezone);

  app.get(
    '/needs',
    {
      config: { access: 'public' },
      schema: {
        tags: ['needs'],
        summary:
          'Needs planning per region and level: formation, declared and computed need, filled, available formation, retiring and projected shortfall',
        description:
          'Without province or region: the nation, one row per province. A province: its own office, then every regency/city. Computed needs carry their parameter version and its status (unconfirmed until the annex of Permenaker 10/2023 is loaded).',
        querystring: z.object({
          province: ProvinceCode.optional(),
          region: RegionCode.optional().describe('with province: must lie in it'),
          year: z.coerce
            .number()
            .int()
            .min(1900)
            .max(9999)
            .optional()
            .describe('default: the year of the register’s last evaluated as_of, else the current year'),
        }),
        response: { 200: NeedsResponse, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      try {
        return needsJson(await getNeeds(app.ctx.db, { ...req.query, today: today() }));
      } catch (e) {
        if (e instanceof NeedsQueryError) {
          const field = `querystring.${e.field}`;
          if (e.reason === 'unknown') throw new ApiError(404, 'not_found', `${field}: ${e.message}.`);
          throw badRequest(field, e.message);
        }
        throw e;
      }
    },
  );

  app.get(
    '/needs/parameters',
    {
      config: { access: 'public' },
      schema: {
        tags: ['needs'],
        summary: 'The parameter set versions of the need computation (R16), in the order added',
        response: { 200: z.object({ data: z.array(NeedParametersInfo) }), 401: ErrorBody },
      },
    },
    async () => {
      const list = await listNeedParameterVersions(app.ctx.db, today());
      return {
        data: list.map((v) => ({
          version: v.version,
          status: v.status,
          valid_from: v.validFrom,
          source: v.source,
          added_at: isoReq(v.addedAt),
          in_force_today: v.inForceToday,
        })),
      };
    },
  );

  app.get(
    '/needs/parameters/:version',
    {
      config: { access: 'public' },
      schema: {
        tags: ['needs'],
        summary: 'One parameter set version: the whole document and when it was added',
        params: z.object({ version: Version }),
        response: { 200: NeedParametersDetail, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const stored = await getNeedParameters(app.ctx.db, req.params.version);
      if (!stored) throw notFound(`Versi parameter ${req.params.version}`);
      const inForce = (await listNeedParameterVersions(app.ctx.db, today())).find((v) => v.inForceToday);
      return {
        version: stored.version,
        status: stored.status,
        valid_from: stored.validFrom,
        source: stored.parameters.source,
        added_at: isoReq(stored.addedAt),
        in_force_today: inForce?.version === stored.version,
        document: stored.parameters,
      };
    },
  );

  app.post(
    '/needs/parameters',
    {
      config: { access: 'admin' },
      // A parameter set is a few kilobytes; the annex with every activity far below this.
      bodyLimit: 256 * 1024,
      // The document is checked whole by the repository (every problem named), not by the route's
      // validator, which would stop at the first one; the schema still documents the body.
      attachValidation: true,
      schema: {
        tags: ['needs'],
        summary: 'Add a parameter set version (admin, audited); a version is never edited in place',
        description:
          '201 when added; 200 when this version is already stored with the same document; 409 when it is stored with other contents (add a new version); 400 naming every problem of a document that breaks the spec.',
        security: [{ apiKey: [] }],
        body: NeedParameters,
        response: {
          200: NeedParametersAdded,
          201: NeedParametersAdded,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          409: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const { actor, actorRole } = actorOf(req);
      let result;
      try {
        result = await addNeedParametersAudited(app.ctx.db, req.body as unknown, { actor, actorRole });
      } catch (e) {
        if (e instanceof NeedParametersError && e.reason === 'exists') {
          throw new ApiError(409, 'conflict', e.errors.join('; '));
        }
        if (e instanceof NeedParametersError) {
          const listed = e.errors
            .slice(0, MAX_LISTED_PROBLEMS)
            .map((m) => (m.length > 300 ? `${m.slice(0, 300)}…` : m));
          const more = e.errors.length - listed.length;
          throw badRequest(
            'body',
            `dokumen parameter ditolak (${e.errors.length} masalah): ${listed.join('; ')}${more > 0 ? `; … dan ${more} masalah lain` : ''}`,
          );
        }
        throw e;
      }
      const s = result.stored;
      const inForce = (await listNeedParameterVersions(app.ctx.db, today())).find((v) => v.inForceToday);
      return reply.code(result.added ? 201 : 200).send({
        added: result.added,
        version: s.version,
        status: s.status,
        valid_from: s.validFrom,
        source: s.parameters.source,
        added_at: isoReq(s.addedAt),
        in_force_today: inForce?.version === s.version,
        document: s.parameters,
      });
    },
  );
};
