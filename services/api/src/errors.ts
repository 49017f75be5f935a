import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isConnectionError } from '@pksync/db';

/** Machine-readable error codes of the API; the message is for people (Bahasa Indonesia). */
export type ApiErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'request_timeout'
  | 'headers_too_large'
  | 'unsupported_media_type'
  | 'unparseable_file'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

/** Every error body: `{"error": {"code", "message"}}` (register-api-v1.md § HTTP API). */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe('machine-readable code, e.g. invalid_request, unauthorized, forbidden, not_found'),
      message: z.string().describe('what is wrong, for people (Bahasa Indonesia); names the bad field for 400'),
    }),
  })
  .meta({ id: 'Error' });

/** An error a handler throws on purpose: its status, code and message go to the client as they are. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /**
   * @param closeConnection Answer with `Connection: close`: the request's body was cut off or
   *   stalled, so where the next request on the connection would begin is unknown.
   */
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly closeConnection = false,
  ) {
    super(message);
  }
}

export const unauthorized = () =>
  new ApiError(401, 'unauthorized', 'Kunci API tidak ada, salah, atau sudah dicabut (Authorization: Bearer <kunci>).');
/** One message for "outside your province" and "does not exist" alike, so neither reveals the other. */
export const forbidden = () =>
  new ApiError(403, 'forbidden', 'Kunci API ini tidak berhak atas data ini atau data ini berada di luar provinsinya.');
export const adminOnly = () =>
  new ApiError(403, 'forbidden', 'Hanya kunci admin (kementerian) yang boleh melakukan ini.');
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} tidak ditemukan.`);
export const badRequest = (field: string, message: string) =>
  new ApiError(400, 'invalid_request', `${field}: ${message}`);

/** A dependency whose outage the API answers with `503 unavailable`. */
export type Dependency = 'postgres' | 'redis';

const DEPENDENCY_NAMES: Record<Dependency, string> = {
  postgres: 'Basis data (PostgreSQL)',
  redis: 'Antrean (Redis)',
};

/** 503: `dependency` cannot be reached; the client may retry (the API recovers by itself). */
export const unavailable = (dependency: Dependency) =>
  new ApiError(
    503,
    'unavailable',
    `${DEPENDENCY_NAMES[dependency]} tidak dapat dihubungi saat ini; coba lagi sebentar lagi.`,
  );

// ioredis: a command on a closed connection, with the offline queue off (producers fail fast), or
// out of retries; @pksync/queue: `waitReady`, and `triggerRun`'s "could not be queued" (whose
// cause is one of these). `LOADING`: Redis is starting and reading its data set.
const REDIS_OUTAGE =
  /Connection is closed|Stream isn't writeable and enableOfflineQueue options is false|max retries per request limit|^Redis is not reachable|^Redis connection closed|could not be queued \(is Redis reachable\?\)|^LOADING /;

function isRedisOutage(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== 'object' || depth > 5) return false;
  const err = e as { name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (err.name === 'MaxRetriesPerRequestError') return true;
  if (typeof err.message === 'string' && REDIS_OUTAGE.test(err.message)) return true;
  if (Array.isArray(err.errors) && err.errors.some((x) => isRedisOutage(x, depth + 1))) return true;
  return isRedisOutage(err.cause, depth + 1);
}

/**
 * Which dependency an error says is unreachable, or null when it is not an outage. Redis is told
 * by the messages of ioredis and `@pksync/queue` anywhere along the `cause` chain (it is looked
 * for first); PostgreSQL by `isConnectionError` of `@pksync/db` (SQLSTATE class 08, 57P01–57P03,
 * 53300, refused, reset or terminated connections). A bare socket error (`ECONNREFUSED`, …)
 * counts as PostgreSQL's: a Redis command fails with one of ioredis's own messages instead.
 */
export function unavailableDependency(err: unknown): Dependency | null {
  if (isRedisOutage(err)) return 'redis';
  return isConnectionError(err) ? 'postgres' : null;
}

/** The same body for every error path. */
export function errorBody(code: string, message: string): z.infer<typeof ErrorBody> {
  return { error: { code, message } };
}

function describeValidation(err: FastifyError): string {
  const ctx = err.validationContext ?? 'request';
  const first = err.validation?.[0];
  if (!first) return `${ctx}: tidak sah`;
  const params = first.params as { issue?: { path?: PropertyKey[]; message?: string } } | undefined;
  const path = params?.issue?.path?.map(String).join('.') ?? first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const field = path ? `${ctx}.${path}` : ctx;
  return `${field}: ${params?.issue?.message ?? first.message ?? 'tidak sah'}`;
}

/**
 * Installs the error and not-found handlers: every error leaves as `{"error": {"code", "message"}}`
 * with the right status, a 400 names the bad field, and nothing internal (stack, SQL, paths) is
 * ever sent; unexpected errors are logged with the request id instead.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody('not_found', `Tidak ada rute ${req.method} ${req.url.split('?')[0]}.`));
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ApiError) {
      if (err.closeConnection) void reply.header('connection', 'close');
      return reply.code(err.status).send(errorBody(err.code, err.message));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply.code(400).send(errorBody('invalid_request', describeValidation(err)));
    }
    if (err.validation) {
      return reply.code(400).send(errorBody('invalid_request', describeValidation(err)));
    }
    // A client error (an aborted body: ECONNRESET with status 400) is never blamed on a dependency.
    const dependency = (err.statusCode ?? 500) >= 500 ? unavailableDependency(err) : null;
    if (dependency) {
      // An outage, not a bug: no stack, and the client is told to come back.
      req.log.warn({ dependency, reason: err.message }, 'dependency unavailable');
      const e = unavailable(dependency);
      return reply.code(503).header('retry-after', '5').send(errorBody(e.code, e.message));
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ err, issues: err.cause.issues }, 'response does not match its schema');
      return reply.code(500).send(errorBody('internal', 'Terjadi kesalahan internal.'));
    }
    const status = err.statusCode ?? 500;
    if (status === 413 || err.code === 'FST_REQ_FILE_TOO_LARGE' || err.code === 'FST_PARTS_LIMIT') {
      return reply.code(413).send(errorBody('payload_too_large', 'Berkas atau isi permintaan melebihi batas ukuran.'));
    }
    if (
      status === 415 ||
      err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ||
      err.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE'
    ) {
      return reply
        .code(415)
        .send(errorBody('unsupported_media_type', 'Jenis isi (Content-Type) tidak didukung untuk rute ini.'));
    }
    if (status === 503) {
      return reply.code(503).send(errorBody('unavailable', 'Layanan sedang tidak tersedia; coba lagi sebentar lagi.'));
    }
    if (status === 429) {
      return reply.code(429).send(errorBody('rate_limited', 'Terlalu banyak permintaan; coba lagi nanti.'));
    }
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, empty body, …): their message names no internals.
      const code =
        err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'body' : 'request';
      return reply.code(status).send(errorBody('invalid_request', `${code}: ${err.message}`));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody('internal', 'Terjadi kesalahan internal.'));
  });
}

/**
 * Fastify's `frameworkErrors`: what the router refuses before any hook runs — a URL that does not
 * decode (400), a path parameter over the router's length limit (414) — with the envelope.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_BAD_URL') {
    void reply.code(400).send(errorBody('invalid_request', 'request: alamat (URL) tidak dapat diurai.'));
  } else if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.code(414).send(errorBody('invalid_request', 'request: parameter di alamat terlalu panjang.'));
  } else {
    reply.log.error({ err }, 'framework error');
    void reply.code(500).send(errorBody('internal', 'Terjadi kesalahan internal.'));
  }
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before any route runs gets the
 * same envelope — header fields too large (431), a request that is malformed or ends before its
 * declared length (400), a request that was not received in time (408). The connection closes.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection: nobody is left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, body] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, errorBody('headers_too_large', 'Header permintaan terlalu besar.')]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, errorBody('request_timeout', 'Permintaan tidak selesai dikirim dalam batas waktu.')]
        : [400, errorBody('invalid_request', 'request: permintaan HTTP tidak sah atau terpotong.')];
  if (socket.writable) {
    const json = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy(err);
}

/**
 * While the server closes, a request still arriving on an open connection is answered `503` with
 * the envelope (Fastify's own `return503OnClosing` body is not), and the connection is closed,
 * so the load balancer sends it elsewhere.
 */
export function installClosingAnswer(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (!closing) return;
    return reply
      .code(503)
      .header('connection', 'close')
      .send(errorBody('unavailable', 'Server sedang berhenti; kirim ulang permintaan.'));
  });
}

/**
 * Every operation may answer `503` (a dependency down, the server closing): adds it, with the
 * error envelope, to each route's documented responses that do not name it already. Installed
 * before the routes are registered.
 */
export function documentUnavailable(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const response = (route.schema as { response?: Record<string, unknown> } | undefined)?.response;
    if (response && !('503' in response)) response[503] = ErrorBody;
  });
}
