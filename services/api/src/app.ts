import { existsSync } from 'node:fs';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { TrustProxy } from '@pksync/config';
import { pagingKey } from '@pksync/db';
import { installAuth } from './auth.ts';
import type { ApiContext } from './context.ts';
import {
  clientErrorHandler,
  documentUnavailable,
  errorBody,
  frameworkErrors,
  installClosingAnswer,
  installErrorHandling,
} from './errors.ts';
import { createMetrics } from './metrics.ts';
import { CursorCodec, refuseRetiredPaging, sharePagingParameters } from './paging.ts';
import { mountQueueDashboard } from './queue-dashboard.ts';
import { cspHeader, DASHBOARD_CSP, DOCS_CSP, installSecurityHeaders, routeHelmet } from './security-headers.ts';
import { routeModules } from './routes/index.ts';
import { RAW_FILE_TYPES } from './upload/receive.ts';

export const API_PREFIX = '/api/v1';
/** Swagger UI over the OpenAPI document (its own JSON copy at `${DOCS_PREFIX}/json`). */
export const DOCS_PREFIX = '/api/docs';

/** TRUST_PROXY's default (packages/config): a proxy on this host or a private network. */
const DEFAULT_TRUST_PROXY: TrustProxy = ['loopback', 'uniquelocal'];

/** TRUST_PROXY as fastify's option: a hop count as the function fastify itself would make of it. */
function trustProxyOption(t: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof t === 'number') return (_address, hop) => hop < t;
  return typeof t === 'boolean' ? t : [...t];
}

export interface BuildAppOptions {
  logger?: Logger | boolean;
  /** Directory of the web console's static build, served at `/` when it exists. */
  webRoot?: string | null;
  /**
   * fastify's `trustProxy` (config TRUST_PROXY): whose X-Forwarded-For/-Proto are believed, so
   * when a request counts as HTTPS (HSTS) and which address the per-address rate limit sees.
   * Default: a proxy on this host or a private network.
   */
  trustProxy?: TrustProxy;
}

/**
 * Builds the API (not listening): validation and OpenAPI from the same zod schemas, auth, errors,
 * rate limits, metrics, the queue dashboard and the web console. Tests call this with their own
 * database and Redis prefix; {@link start} wires it from the configuration.
 */
export async function buildApp(ctx: ApiContext, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: typeof options.logger === 'object' ? options.logger : undefined,
    logger: typeof options.logger === 'boolean' ? options.logger : undefined,
    bodyLimit: 1024 * 1024,
    // Behind the TLS proxy the client's address and scheme are in X-Forwarded-For/-Proto; they
    // are believed only from the proxies TRUST_PROXY names.
    trustProxy: trustProxyOption(options.trustProxy ?? DEFAULT_TRUST_PROXY),
    // Per-request info lines would flood the log under load; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Requests arriving while the server closes get a 503 with the error envelope instead.
    return503OnClosing: false,
    // 431, a truncated or malformed request: answered with the error envelope as well.
    clientErrorHandler,
    // A URL that does not decode, a path parameter too long: the envelope too.
    frameworkErrors,
  }) as unknown as FastifyInstance;
  // A client that closes its sending side once its request is sent (a socket's `end()`, `nc -N`)
  // still gets the answer — a truncated upload its 400 — instead of Node dropping the request.
  // Node's own switch (not in its typings); the truncated-upload tests depend on it.
  (app.server as typeof app.server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('ctx', ctx);
  // Every list route's cursors, sealed with the key all replicas share.
  app.decorate('cursors', new CursorCodec(() => pagingKey(ctx.db)));
  refuseRetiredPaging(app);
  installErrorHandling(app);
  installClosingAnswer(app);
  documentUnavailable(app);
  // Before auth: its refusals are sent from a hook and must carry the headers too.
  await installSecurityHeaders(app, { apiPrefix: API_PREFIX });
  installAuth(app, ctx.db);
  const metrics = createMetrics(ctx);
  metrics.install(app);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'pksync register and admin API',
        version: '1.0.0',
        description:
          'The national register of placement officers (Pejabat Fungsional Pengantar Kerja) and the levers of its pipeline (register-api-v1.md).',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <key> (pksync keys create)' },
        },
      },
    },
    transform: jsonSchemaTransform,
    // The paging parameters, once, as components (paging.ts).
    transformObject: (input) => sharePagingParameters(jsonSchemaTransformObject(input)),
    hideUntagged: false,
  });
  await app.register(async (docs) => {
    // The page and its files are open to anyone, like the document itself (auth.ts: `none`).
    // Swagger UI sends its own policy (staticCSP): helmet's is off there, so there is one header.
    docs.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'none', helmet: routeHelmet(false) };
    });
    await docs.register(fastifySwaggerUi, {
      routePrefix: DOCS_PREFIX,
      staticCSP: cspHeader(DOCS_CSP),
      uiConfig: { deepLinking: true, docExpansion: 'list', persistAuthorization: false },
    });
  });
  await app.register(fastifyMultipart, {
    limits: { fileSize: ctx.limits.maxUploadBytes, files: 1, fields: 10, parts: 12, fieldSize: 64 * 1024 },
  });
  await app.register(fastifyRateLimit, {
    global: false,
    // After auth (preHandler), so the limit is per key, not per address.
    hook: 'preHandler',
    redis: ctx.redis ?? undefined,
    nameSpace: ctx.rateLimit.namespace,
    // Redis down: let the request through; the trigger itself then fails with a clear 503.
    skipOnError: true,
    keyGenerator: (req) => (req.caller && req.caller.role !== 'public' ? `key:${req.caller.keyId}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, c) => ({
      statusCode: 429,
      ...errorBody(
        'rate_limited',
        `Terlalu banyak permintaan dengan kunci ini; coba lagi dalam ${Math.ceil(c.ttl / 1000)} detik.`,
      ),
    }),
  });

  await app.register(
    async (api) => {
      // File routes take raw CSV/XLSX bodies as a stream (size-limited while spooling), besides multipart.
      api.addContentTypeParser(RAW_FILE_TYPES, (_req, payload, done) => done(null, payload));
      for (const mod of routeModules) await api.register(mod);
      api.get('/openapi.json', { config: { access: 'none' }, schema: { hide: true } }, async (_req, reply) =>
        reply.type('application/json').send(app.swagger()),
      );
      api.get('/metrics', { config: { access: 'none' }, schema: { hide: true } }, async (_req, reply) =>
        reply.type(metrics.contentType).send(await metrics.render()),
      );
    },
    { prefix: API_PREFIX },
  );

  if (ctx.queues) {
    const queues = ctx.queues;
    await app.register(async (board) => {
      // Bull Board's page needs a policy of its own (security-headers.ts).
      board.addHook('onRoute', (route) => {
        route.config = { ...route.config, helmet: routeHelmet(DASHBOARD_CSP) };
      });
      await mountQueueDashboard(board, queues, '/admin/queues');
    });
  }

  if (options.webRoot && existsSync(options.webRoot)) {
    await app.register(fastifyStatic, { root: options.webRoot, prefix: '/', index: ['index.html'], wildcard: true });
  }
  await app.ready();
  return app;
}
