import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FetchError } from '../fetch-error.ts';
import { openSourceSession, sourceUrl } from '../http/source-session.ts';
import { combineRawParts, sha256Hex, skipParse, type RawPart } from '../raw-hash.ts';
import { probeSnapshotFiles } from '../snapshot-download.ts';
import { getWithRetry, readBodyLimited, throwIfFetchAborted, type HttpSession } from '../http/http-client.ts';
import {
  resolveLimits,
  type Connector,
  type FetchContext,
  type FetchedItem,
  type FetchLimits,
  type SourceDefinition,
  type Validators,
} from '../connector.types.ts';

/**
 * The `api` transport (exchange-format-v1.md § api): `GET {url}/officers?limit=…[&cursor=…]`
 * following `next_cursor`, then `GET {url}/formations?year=…` for `asOf`'s year (and, with
 * `ctx.formationFromYear`, for each year from that one: R17), then `GET {url}/workloads?year=…`
 * (needs-planning-v1.md; 404 means the agency sends no workload, as a past year's formations
 * answering 404 means none for that year). Every page is downloaded and checked before the first
 * record is yielded; raw pages are kept (memory up to 4 MB, then a private temp file) and hashed,
 * so `ctx.beforeParse` can skip an unchanged snapshot. Bytes and records are counted over the
 * whole snapshot. A page that answered 404 is a part of the raw hash of its own (`<page> 404`, no
 * bytes), so the day an agency starts sending its workload the snapshot is not "unchanged".
 *
 * The exchange format gives an API no validators, but many servers send an `ETag` anyway: when
 * every page of a snapshot came with one (a 404 page is recorded as `absent` instead), the
 * snapshot records them (with the cursor each page was asked with), and `probe` asks the same
 * pages again with `If-None-Match` (an absent page plainly): all 304 (and 404 for the absent ones)
 * means the same pages, so the same snapshot. Otherwise `probe` downloads the pages, keeping only
 * their hashes, and compares the raw hash with the reconciled one.
 *
 * @example
 * for await (const item of createApiConnector().fetch(source, { signal, asOf: '2026-11-27' })) stage(item);
 */
export function createApiConnector(): Connector {
  return {
    fetch: (source, ctx) => fetchApi(source, ctx),
    // By the pages' ETags when the reconciled snapshot recorded them; else the probe downloads the
    // pages (one attempt each, no job) and compares their raw hash, which costs less than a fetch
    // job that finds the same.
    probe: async (source, ctx) => {
      if (!ctx.asOf) return false;
      const years = { asOf: ctx.asOf, formationFromYear: ctx.formationFromYear };
      const pages = knownPages(ctx.validators, years, sourceUrl(source), resolveLimits(source, ctx).pageSize);
      if (pages) return probeSnapshotFiles(source, ctx, () => pages);
      const { url, limits, session } = openSourceSession(source, ctx);
      const snapshot = await downloadPages(session, url, limits, years, { keepPages: false });
      await snapshot.store.close();
      return combineRawParts('api', snapshot.parts).sha256 === ctx.contentHash;
    },
  };
}

/** The years a fetch asks: `asOf`'s, and formations from `formationFromYear` (FetchContext). */
interface PageYears {
  asOf: string;
  formationFromYear?: number | undefined;
}

/** A page asked after the officer pages: formations of one year, or the workload. */
interface TailPage {
  label: string;
  url: string;
  kind: 'formation' | 'workload';
  /** 404 means "none" (a past year's formations, the workload) instead of failing the fetch. */
  optional: boolean;
}

/**
 * The pages after the officers, in the order asked: formations of each year from
 * `formationFromYear` (when before `asOf`'s year) to `asOf`'s year, then `asOf`'s workload. A 404
 * for `asOf`'s formations fails the fetch, as it always has; a 404 for a past year or for the
 * workload means none.
 */
function tailPages(base: string, years: PageYears): TailPage[] {
  const year = Number(years.asOf.slice(0, 4));
  const from = years.formationFromYear !== undefined && years.formationFromYear < year ? years.formationFromYear : year;
  const pages: TailPage[] = [];
  for (let y = from; y <= year; y++) {
    pages.push({
      label: `formations?year=${y}`,
      url: yearUrl(base, 'formations', y),
      kind: 'formation',
      optional: y < year,
    });
  }
  pages.push({
    label: `workloads?year=${year}`,
    url: yearUrl(base, 'workloads', year),
    kind: 'workload',
    optional: true,
  });
  return pages;
}

/**
 * The reconciled snapshot's pages, in order, as files to ask again by their ETags
 * (`probeSnapshotFiles`): `officers#0…n-1` (each asked with the cursor it came with, the last one
 * marked as such), then the formation and workload pages of {@link tailPages} (one that answered
 * 404 recorded `absent`, asked again plainly). Null when the validators do not make such a whole
 * chain (none, a page without an ETag or missing, other years' pages): the probe then downloads
 * the pages. All answering 304 (404 for the absent ones) means each page, and so the chain its
 * cursors make, is the one reconciled.
 */
function knownPages(
  validators: Record<string, Validators>,
  years: PageYears,
  base: string,
  pageSize: number,
): { label: string; url: string }[] | null {
  const pages: { label: string; url: string }[] = [];
  for (let i = 0, last = false; !last; i++) {
    const label = `officers#${i}`;
    const v = validators[label];
    if (!v?.etag || (i === 0) !== (v.cursor === undefined)) return null;
    pages.push({ label, url: officersUrl(base, pageSize, v.cursor ?? null) });
    last = v.last === true;
  }
  for (const page of tailPages(base, years)) {
    const v = validators[page.label];
    // A page required now that answered 404 then cannot have been reconciled as it is asked now.
    if (!(v?.etag || (v?.absent && page.optional))) return null;
    pages.push({ label: page.label, url: page.url });
  }
  if (Object.keys(validators).length !== pages.length) return null;
  return pages;
}

/** `GET {base}/officers?limit=…[&cursor=…]`. */
function officersUrl(base: string, pageSize: number, cursor: string | null): string {
  const url = endpoint(base, 'officers');
  url.searchParams.set('limit', String(pageSize));
  if (cursor !== null) url.searchParams.set('cursor', cursor);
  return url.toString();
}

/** `GET {base}/formations?year=…` or `GET {base}/workloads?year=…`. */
function yearUrl(base: string, segment: 'formations' | 'workloads', year: number): string {
  const url = endpoint(base, segment);
  url.searchParams.set('year', String(year));
  return url.toString();
}

/** The sha256 of no bytes: the hash of a page that answered 404. */
const EMPTY_SHA256 = sha256Hex(new Uint8Array(0));

/** A snapshot's pages, downloaded and checked: raw officer pages (in `store`), then formations and workload. */
interface DownloadedPages {
  parts: RawPart[];
  /** Per part label, the page's ETag and the cursor it was asked with; null unless every page had an ETag. */
  validators: Record<string, Validators> | null;
  store: PageStore;
  officerPages: number;
  /** The records of the formation and workload pages, in the order asked (a 404 page has none). */
  tail: { kind: TailPage['kind']; data: Record<string, unknown>[] }[];
}

/**
 * Downloads every officer page (following `next_cursor`), then the formation and workload pages
 * ({@link tailPages}), checking shapes, cursors and limits, keeping their hashes and (unless
 * `keepPages` is false, as for a probe, which needs only the hashes) the raw officer pages. The
 * caller closes `store` (also on failure: it is closed here before rethrowing).
 */
async function downloadPages(
  session: HttpSession,
  base: string,
  limits: FetchLimits,
  years: PageYears,
  { keepPages = true }: { keepPages?: boolean } = {},
): Promise<DownloadedPages> {
  const budget = { bytes: limits.maxBytes, rows: limits.maxRows };
  const seenCursors = new Set<string>();
  const store = new PageStore();
  try {
    const parts: RawPart[] = [];
    const validators: Record<string, Validators> = {};
    let everyEtag = true;
    const remember = (label: string, etag: string | null, cursor: string | null, last = false) => {
      if (etag === null) everyEtag = false;
      else validators[label] = { etag, ...(cursor === null ? {} : { cursor }), ...(last ? { last } : {}) };
    };
    let cursor: string | null = null;
    do {
      const page = await getPage(session, officersUrl(base, limits.pageSize, cursor), budget, true);
      takeRows(budget, page.data.length, limits.maxRows);
      remember(`officers#${parts.length}`, page.etag, cursor, page.nextCursor === null);
      parts.push({ label: `officers#${parts.length}`, sha256: sha256Hex(page.body), bytes: page.body.length });
      if (keepPages) await store.add(page.body);
      // A server that hands back a cursor it already gave would loop for ever.
      if (page.nextCursor !== null && seenCursors.has(page.nextCursor)) {
        throw new FetchError('invalid_response', 'next_cursor repeats an earlier cursor', { retryable: false });
      }
      if (page.nextCursor !== null) seenCursors.add(page.nextCursor);
      cursor = page.nextCursor;
    } while (cursor !== null);
    const officerPages = parts.length;

    const tail: DownloadedPages['tail'] = [];
    for (const t of tailPages(base, years)) {
      const page = await getTailPage(session, t.url, budget, t.optional);
      if (page === null) {
        // 404: none. A part of its own, so that the same page answering 200 later changes the hash.
        validators[t.label] = { absent: true };
        parts.push({ label: `${t.label} 404`, sha256: EMPTY_SHA256, bytes: 0 });
        continue;
      }
      takeRows(budget, page.data.length, limits.maxRows);
      remember(t.label, page.etag, null);
      parts.push({ label: t.label, sha256: sha256Hex(page.body), bytes: page.body.length });
      tail.push({ kind: t.kind, data: page.data });
    }
    throwIfFetchAborted(session);
    return { parts, validators: everyEtag ? validators : null, store, officerPages, tail };
  } catch (e) {
    await store.close();
    throw e;
  }
}

async function* fetchApi(source: SourceDefinition, ctx: FetchContext): AsyncGenerator<FetchedItem> {
  const { url, limits, session } = openSourceSession(source, ctx);
  // 1. Download: every page, checked (shape, cursor, limits) and kept raw, before any record
  //    goes out (R9: a fetch that fails on page 7 has yielded nothing).
  const { parts, validators, store, officerPages, tail } = await downloadPages(session, url, limits, {
    asOf: ctx.asOf,
    formationFromYear: ctx.formationFromYear,
  });
  try {
    // 2. Unchanged raw pages: nothing to parse.
    const raw = combineRawParts('api', parts);
    if (await skipParse(ctx, validators ? { ...raw, validators } : raw)) return;

    // 3. Parse: the pages again, one at a time (already checked, so this cannot fail on shape).
    let position = 0;
    for (let i = 0; i < officerPages; i++) {
      const { data } = parseBody(await store.get(i));
      for (const record of data) yield { kind: 'officer', position: position++, record };
    }
    // Positions count per dataset, over its pages (formations of several years run on).
    const next = { formation: 0, workload: 0 };
    for (const { kind, data } of tail) {
      for (const record of data) yield { kind, position: next[kind]++, record };
    }
    throwIfFetchAborted(session);
    ctx.log?.debug(
      {
        source: source.id,
        officers: position,
        formations: next.formation,
        workloads: next.workload,
        attempts: session.attempts,
      },
      'api fetch done',
    );
  } finally {
    await store.close();
  }
}

/** Raw page bodies of one fetch: in memory up to {@link PageStore.MEMORY_BYTES}, then in a temp file. */
class PageStore {
  static readonly MEMORY_BYTES = 4 * 1024 * 1024;
  private readonly memory: Buffer[] = [];
  private memoryBytes = 0;
  private dir: string | null = null;
  private file: FileHandle | null = null;
  private fileBytes = 0;
  /** Per page: its buffer in memory, or [offset, length] in the file. */
  private readonly index: (Buffer | [number, number])[] = [];

  async add(body: Buffer): Promise<void> {
    if (this.file === null && this.memoryBytes + body.length <= PageStore.MEMORY_BYTES) {
      this.memory.push(body);
      this.memoryBytes += body.length;
      this.index.push(body);
      return;
    }
    if (this.file === null) {
      this.dir = await mkdtemp(path.join(tmpdir(), 'pksync-api-'));
      this.file = await open(path.join(this.dir, 'pages.bin'), 'w+');
    }
    await this.file.write(body, 0, body.length, this.fileBytes);
    this.index.push([this.fileBytes, body.length]);
    this.fileBytes += body.length;
  }

  async get(i: number): Promise<Buffer> {
    const at = this.index[i];
    if (at === undefined) throw new Error(`page ${i} was not stored`);
    if (Buffer.isBuffer(at)) return at;
    const buf = Buffer.allocUnsafe(at[1]);
    await this.file!.read(buf, 0, at[1], at[0]);
    return buf;
  }

  async close(): Promise<void> {
    this.memory.length = 0;
    this.index.length = 0;
    await this.file?.close().catch(() => {});
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
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
  /** The page's `ETag`, when the server sent one. */
  etag: string | null;
  /** The response body as received (hashed, and parsed again after the download phase). */
  body: Buffer;
}

function parseBody(body: Buffer): { data: Record<string, unknown>[] } {
  return JSON.parse(body.toString('utf8')) as { data: Record<string, unknown>[] };
}

function takeRows(budget: { rows: number }, n: number, maxRows: number): void {
  budget.rows -= n;
  if (budget.rows < 0) {
    throw new FetchError('payload_too_large', `snapshot exceeds the limit of ${maxRows} records`, { retryable: false });
  }
}

/** A formation or workload page; when `optional`, a 404 answer is null ("none") instead of failing the fetch. */
async function getTailPage(
  session: HttpSession,
  url: string,
  budget: { bytes: number },
  optional: boolean,
): Promise<Page | null> {
  try {
    return await getPage(session, url, budget, false);
  } catch (e) {
    if (optional && e instanceof FetchError && e.status === 404) return null;
    throw e;
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
    return { ...checkShape(json, paged, new URL(url).pathname), body, etag: res.headers.get('etag') };
  });
}

/** `{"data": [object…], "next_cursor": string|null}`; anything else fails the fetch. */
function checkShape(json: unknown, paged: boolean, path: string): Omit<Page, 'body' | 'etag'> {
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
