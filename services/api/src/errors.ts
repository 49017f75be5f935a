import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** Machine-readable error codes of the API; the message is for people (Bahasa Indonesia). */
export type ApiErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
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
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
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
      return reply.code(err.status).send(errorBody(err.code, err.message));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply.code(400).send(errorBody('invalid_request', describeValidation(err)));
    }
    if (err.validation) {
      return reply.code(400).send(errorBody('invalid_request', describeValidation(err)));
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
