import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { badRequest } from './errors.ts';

/**
 * The one paging convention of every list route (services/api/README.md § Paging): `limit` and an
 * opaque `cursor` in the query, `data` and `next_cursor` (null on the last page) in the body,
 * keyset underneath. A cursor is the sealed (AES-256-GCM) JSON of the list it belongs to, a digest
 * of that request's filters and the keyset values of the last item of its page. Sealed, because a
 * keyset value may be personal (the diff of a version is keyed by NIP) and a cursor must not be
 * forged; bound to its list and filters, because a position in one ordered set means nothing in
 * another. A cursor that does not open, or belongs to another list or other filters, is a 400
 * naming `querystring.cursor`.
 */

/** The largest page any list route returns. */
export const PAGE_LIMIT_MAX = 1000;
/** The page size when `limit` is left out. */
export const PAGE_LIMIT_DEFAULT = 100;

/** The paging query of every list route; a route extends it with its filters. */
export const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(PAGE_LIMIT_MAX)
    .default(PAGE_LIMIT_DEFAULT)
    .describe(`items per page, 1–${PAGE_LIMIT_MAX} (default ${PAGE_LIMIT_DEFAULT})`),
  cursor: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z0-9_-]+$/, 'kursor tidak sah; gunakan next_cursor dari halaman sebelumnya')
    .optional()
    .describe(
      'opaque: the next_cursor of the previous page, sent with the same filters (a cursor of other filters or another list is a 400); absent for the first page',
    ),
});

/** `next_cursor` of every page: one schema, one component of the OpenAPI document. */
export const NextCursor = z
  .string()
  .nullable()
  .describe('the cursor of the next page (send it as `cursor=` with the same filters); null on the last page')
  .meta({ id: 'NextCursor' });

/** The page envelope of every list route: `{ data, next_cursor }`; a route may `.extend` it. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), next_cursor: NextCursor });
}

/** Which list a cursor belongs to, and the filters of the request it was made for. */
export interface CursorScope {
  list: string;
  filters: Record<string, string | number | boolean | null | undefined>;
}

// Byte 0 of a cursor: its format. A new format gets a new number; old cursors then fail to open.
const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const AAD = Buffer.from('pksync cursor');

const Envelope = z.object({ l: z.string(), f: z.string(), k: z.unknown() }).strict();

/** A digest of the filters that shaped a page (absent ones left out, names sorted). */
function filterDigest(filters: CursorScope['filters']): string {
  const present = Object.entries(filters)
    .filter(([, v]) => v !== undefined && v !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(present)).digest('base64url').slice(0, 16);
}

const invalid = (message: string) => badRequest('querystring.cursor', message);
const MALFORMED = 'kursor tidak sah; gunakan next_cursor dari halaman sebelumnya';

/**
 * Seals and opens cursors with a key every replica shares (`pagingKey` of `@pksync/db`), loaded
 * once on first use (a failed load is tried again on the next request).
 *
 * @example
 * const codec = new CursorCodec(() => pagingKey(db));
 * const next = await codec.seal({ list: 'audit', filters: { actor } }, { id: 41 });
 * const after = await codec.open(next, { list: 'audit', filters: { actor } }, z.object({ id: z.number() })); // { id: 41 }
 */
export class CursorCodec {
  #key: Promise<Buffer> | undefined;

  constructor(private readonly loadKey: () => Promise<Buffer>) {}

  #getKey(): Promise<Buffer> {
    this.#key ??= this.loadKey().catch((e: unknown) => {
      this.#key = undefined;
      throw e;
    });
    return this.#key;
  }

  /** The cursor of the position `key` in the list and filters of `scope`. */
  async seal(scope: CursorScope, key: unknown): Promise<string> {
    const secret = await this.#getKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', secret, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(AAD);
    const body = Buffer.concat([
      cipher.update(JSON.stringify({ l: scope.list, f: filterDigest(scope.filters), k: key }), 'utf8'),
      cipher.final(),
    ]);
    return Buffer.concat([Buffer.from([FORMAT]), iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /**
   * The keyset values of `cursor` (undefined without one), checked against `scope` and `keySchema`.
   *
   * @throws ApiError 400 naming `querystring.cursor` for a cursor that does not open, belongs to
   *   another list or other filters, or carries keyset values `keySchema` refuses.
   */
  async open<K>(cursor: string | undefined, scope: CursorScope, keySchema: z.ZodType<K>): Promise<K | undefined> {
    if (cursor === undefined) return undefined;
    const bytes = Buffer.from(cursor, 'base64url');
    if (bytes.length < 1 + IV_BYTES + TAG_BYTES + 1 || bytes[0] !== FORMAT) throw invalid(MALFORMED);
    const secret = await this.#getKey();
    let envelope: z.infer<typeof Envelope>;
    try {
      // The full tag only (the length check above makes room for it): with `authTagLength` fixed,
      // Node cannot be handed a forger's shorter tag either.
      const tag = bytes.subarray(bytes.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', secret, bytes.subarray(1, 1 + IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(AAD);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([
        decipher.update(bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
      envelope = Envelope.parse(JSON.parse(plain.toString('utf8')));
    } catch {
      throw invalid(MALFORMED);
    }
    if (envelope.l !== scope.list)
      throw invalid('kursor ini milik daftar lain; gunakan next_cursor dari halaman sebelumnya rute ini');
    if (envelope.f !== filterDigest(scope.filters))
      throw invalid('kursor ini dibuat dengan filter lain; kirim filter yang sama, atau mulai lagi tanpa cursor');
    const key = keySchema.safeParse(envelope.k);
    if (!key.success) throw invalid(MALFORMED);
    return key.data;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    cursors: CursorCodec;
  }
}

/** The paging parameters before the one convention: a client still sending them is told, not ignored. */
const RETIRED = ['before', 'offset'] as const;

/**
 * Answers a list route's `before=` or `offset=` (the old paging) with a 400 naming it, instead of
 * ignoring it like any unknown parameter: an old client would read the first page again and again.
 */
export function refuseRetiredPaging(app: FastifyInstance): void {
  app.addHook('preValidation', async (req) => {
    const qs = (req.routeOptions.schema as { querystring?: unknown } | undefined)?.querystring;
    if (!(qs instanceof z.ZodObject) || !('cursor' in qs.shape)) return;
    const query = req.query as Record<string, unknown>;
    for (const name of RETIRED)
      if (name in query)
        throw badRequest(`querystring.${name}`, 'tidak dipakai lagi; halaman berikutnya: cursor=<next_cursor>');
  });
}

/**
 * One page of a keyset-ordered list. `fetch(after, take)` reads up to `take` items after the
 * position `after` (undefined: from the start) in the list's order, which must be total (ended by
 * a unique key); one more than `limit` is asked for, so `next_cursor` is null exactly on the last
 * page. `keyOf` gives an item's keyset values, which `keySchema` checks when a cursor comes back.
 */
export async function readPage<Row, K>(
  codec: CursorCodec,
  query: { limit: number; cursor?: string | undefined },
  scope: CursorScope,
  keySchema: z.ZodType<K>,
  fetch: (after: K | undefined, take: number) => Promise<Row[]>,
  keyOf: (row: Row) => K,
): Promise<{ rows: Row[]; next_cursor: string | null }> {
  const after = await codec.open(query.cursor, scope, keySchema);
  const got = await fetch(after, query.limit + 1);
  const rows = got.slice(0, query.limit);
  const last = rows[rows.length - 1];
  const next_cursor = got.length > query.limit && last !== undefined ? await codec.seal(scope, keyOf(last)) : null;
  return { rows, next_cursor };
}

/** Keyset values that are a bigserial id (a safe integer). */
export const IdKey = z.object({ id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict();

type Doc = {
  paths?: Record<string, Record<string, { parameters?: unknown[] } | unknown>>;
  components?: Record<string, unknown>;
};

const SHARED_PARAMETERS = { limit: 'PageLimit', cursor: 'PageCursor' } as const;

/**
 * The OpenAPI document with the paging parameters documented once: every list route's `limit`
 * and `cursor` become references to `components.parameters.PageLimit` / `PageCursor` (from
 * {@link PageQuery}). A route whose `limit` or `cursor` differs from the shared one is a bug (a
 * list route that does not use PageQuery), so the document is not made.
 */
export function sharePagingParameters<T extends object>(input: T): T {
  const doc = input as Doc;
  const shared: Record<string, unknown> = {};
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op as { parameters?: unknown[] }).parameters;
      if (!Array.isArray(params)) continue;
      (op as { parameters: unknown[] }).parameters = params.map((p) => {
        const param = p as { in?: string; name?: string };
        if (param.in !== 'query' || !(param.name === 'limit' || param.name === 'cursor')) return p;
        const id = SHARED_PARAMETERS[param.name];
        const seen = shared[id];
        if (seen === undefined) shared[id] = p;
        else if (!isDeepStrictEqual(seen, p))
          throw new Error(`${method.toUpperCase()} ${path}: query parameter ${param.name} is not PageQuery's`);
        return { $ref: `#/components/parameters/${id}` };
      });
    }
  }
  const components = (doc.components ?? {}) as { parameters?: Record<string, unknown> };
  return { ...input, components: { ...components, parameters: { ...components.parameters, ...shared } } };
}
