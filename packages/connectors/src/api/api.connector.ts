import { FetchError } from '../fetch-error.ts';
import {
  createHttpSession,
  getWithRetry,
  readBodyLimited,
  throwIfFetchAborted,
  type HttpSession,
} from '../http/http-client.ts';
import {
  resolveLimits,
  type Connector,
  type ConnectorDeps,
  type FetchContext,
  type FetchedItem,
  type SourceDefinition,
} from '../connector.types.ts';

/**
 * The `api` transport (exchange-format-v1.md § api): `GET {url}/officers?limit=…[&cursor=…]`
 * following `next_cursor`, then `GET {url}/formations?year=…`. Only one page is held in memory at
 * a time; bytes and records are counted over the whole snapshot.
 *
 * @example
 * for await (const item of createApiConnector().fetch(source, { signal, asOf: '2026-11-27' })) stage(item);
 */
export function createApiConnector(deps: ConnectorDeps = {}): Connector {
  return { fetch: (source, ctx) => fetchApi(source, ctx, deps) };
}

async function* fetchApi(
  source: SourceDefinition,
  ctx: FetchContext,
  deps: ConnectorDeps,
): AsyncGenerator<FetchedItem> {
  if (!source.url) throw new FetchError('http_error', `source ${source.id} has no url`, { retryable: false });
  const limits = resolveLimits(source, ctx);
  const session = createHttpSession({
    fetchImpl: deps.fetch,
    signal: ctx.signal,
    limits,
    token: source.token,
    sourceId: source.id,
    log: ctx.log,
  });
  const budget = { bytes: limits.maxBytes, rows: limits.maxRows };
  const base = source.url;
  const seenCursors = new Set<string>();
  let cursor: string | null = null;
  let position = 0;
  do {
    const url = endpoint(base, 'officers');
    url.searchParams.set('limit', String(limits.pageSize));
    if (cursor !== null) url.searchParams.set('cursor', cursor);
    const page = await getPage(session, url.toString(), budget, true);
    takeRows(budget, page.data.length, limits.maxRows);
    for (const record of page.data) {
      yield { kind: 'officer', position: position++, record };
    }
    // A server that hands back a cursor it already gave would loop for ever.
    if (page.nextCursor !== null && seenCursors.has(page.nextCursor)) {
      throw new FetchError('invalid_response', 'next_cursor repeats an earlier cursor', { retryable: false });
    }
    if (page.nextCursor !== null) seenCursors.add(page.nextCursor);
    cursor = page.nextCursor;
  } while (cursor !== null);

  const formationsUrl = endpoint(base, 'formations');
  formationsUrl.searchParams.set('year', ctx.asOf.slice(0, 4));
  const formations = await getPage(session, formationsUrl.toString(), budget, false);
  takeRows(budget, formations.data.length, limits.maxRows);
  let fPosition = 0;
  for (const record of formations.data) {
    yield { kind: 'formation', position: fPosition++, record };
  }
  throwIfFetchAborted(session);
  ctx.log?.debug(
    { source: source.id, officers: position, formations: fPosition, attempts: session.attempts },
    'api fetch done',
  );
}

/** `{base}/{segment}`, keeping any query string of the base URL (some agencies put a key there). */
function endpoint(base: string, segment: string): URL {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new FetchError('http_error', 'source url is not a valid URL', { retryable: false });
  }
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/${segment}`;
  return u;
}

interface Page {
  data: Record<string, unknown>[];
  nextCursor: string | null;
}

function takeRows(budget: { rows: number }, n: number, maxRows: number): void {
  budget.rows -= n;
  if (budget.rows < 0) {
    throw new FetchError('payload_too_large', `snapshot exceeds the limit of ${maxRows} records`, { retryable: false });
  }
}

async function getPage(session: HttpSession, url: string, budget: { bytes: number }, paged: boolean): Promise<Page> {
  return getWithRetry(session, url, 'application/json', async (res, _signal, touch) => {
    const body = await readBodyLimited(res, budget.bytes, 'snapshot', touch);
    budget.bytes -= body.length;
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new FetchError('invalid_response', `response from ${new URL(url).pathname} is not JSON`, {
        retryable: false,
        status: res.status,
      });
    }
    return checkShape(json, paged, new URL(url).pathname);
  });
}

/** `{"data": [object…], "next_cursor": string|null}`; anything else fails the fetch. */
function checkShape(json: unknown, paged: boolean, path: string): Page {
  const bad = (why: string) =>
    new FetchError('invalid_response', `response from ${path}: ${why}`, { retryable: false });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('expected a JSON object');
  const obj = json as Record<string, unknown>;
  if (!Array.isArray(obj.data)) throw bad('"data" must be an array');
  for (let i = 0; i < obj.data.length; i++) {
    const r: unknown = obj.data[i];
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw bad(`data[${i}] is not an object`);
  }
  let nextCursor: string | null = null;
  if (paged) {
    const c = obj.next_cursor;
    if (c !== undefined && c !== null && (typeof c !== 'string' || c === '')) {
      throw bad('"next_cursor" must be a non-empty string or null');
    }
    nextCursor = typeof c === 'string' ? c : null;
  }
  return { data: obj.data as Record<string, unknown>[], nextCursor };
}
