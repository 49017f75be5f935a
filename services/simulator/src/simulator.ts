import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Rng } from './prng.ts';
import { renderOfficer, type SimOfficer } from './officers.ts';
import { Planning, type PlanningCaseReport } from './planning.ts';
import { formationsCsv, officersCsv, officersXlsx, workloadRecord, workloadsCsv } from './render.ts';
import { BodyCache } from './body-cache.ts';
import { Timeline, type MassRemoval } from './timeline.ts';
import { buildWorld, FAULT_MODES, type FaultMode, type SimAgency, type SimTransport } from './world.ts';

/** Options of {@link start}. Everything but `port` and `seed` has a default. */
export interface SimulatorConfig {
  /** 0 for any free port. */
  port: number;
  host?: string;
  seed: number;
  /** `all`, a province (`16`: the province agency and its regencies/cities), a region (`16.71`), or a comma list. */
  regions: 'all' | string;
  /** Multiplies every agency's officer count (default 1: ≈15,000 nationally). Rows are generated lazily. */
  scale?: number;
  /** Exact day-0 officer counts per source id, e.g. `{ '16.71-disnaker': 200_000 }`. */
  officers?: Record<string, number>;
  /** Transport each source is listed with in the sources file (every source is served over all of them). */
  transports?: Record<string, SimTransport>;
  /** Start day (default 0). */
  day?: number;
  /** Calendar date of day 0 (default `2026-06-01`); no TMT is after it, day N's transfers are dated day 0 + N. */
  baseDate?: string;
  /** Share of records with one seeded defect (default 0.03; 0 for clean data). */
  defectRate?: number;
  /** Fault modes per source id (replacing the seeded ones), or `false` for no seeded faults at all. */
  faults?: Record<string, FaultMode[]> | false;
  /** The agency whose officers mostly vanish on `day` (R8). Default: day 3, `16.71-disnaker` when simulated. `null`: none. */
  massRemoval?: { day: number; sourceId: string; share?: number } | null;
  /** `false` turns off deliberate waits (`slow`, `Retry-After` becomes 0) so benchmarks measure the client. */
  delays?: boolean;
  /** Fault tuning: share of failing requests of `flaky` (0.3), `Retry-After` seconds (1), `slow` wait ms (2000). */
  faultTuning?: { flakyRate?: number; retryAfterS?: number; slowMs?: number };
  /**
   * Bytes of rendered files and API pages kept in memory while their content is unchanged
   * (default 64 MB; 0: render every request). A real agency serves the same export all night;
   * the simulator renders it once. Files of more than {@link CACHE_MAX_ROWS} rows always stream.
   */
  cacheBytes?: number;
  /** `false`: no agency sends workload (needs-planning-v1.md), as before it existed. Default true. */
  workload?: boolean;
}

/** One entry of the sources file (register-api-v1.md § Sources file). */
export interface SourceImport {
  id: string;
  agency: string;
  region_code: string;
  transport: SimTransport;
  url?: string;
  formations_url?: string;
  /** `csv` agencies that send workload (needs-planning-v1.md). */
  workloads_url?: string;
  token?: string;
  timeout_s?: number;
}

export interface SourceStats {
  requests: number;
  /** Requests answered with an injected fault (5xx, 429, reset, 401, malformed). */
  faults: number;
  /** Conditional file GETs answered 304 Not Modified. */
  notModified: number;
}

/** A running simulator (see {@link start}). */
export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open connections. Safe to call twice. */
  close(): Promise<void>;
  /** Moves time to day `n` (≥ 0): transfers, departures and the mass removal of days 1..n apply. */
  setDay(n: number): void;
  day(): number;
  /** The sources file for `pksync sources import`, URLs pointing at this simulator. */
  sourcesFile(): SourceImport[];
  /** The simulated agencies (for tests: officer counts, transports, faults, tokens). */
  agencies(): readonly SimAgency[];
  /** Requests and injected faults per source id since start. */
  stats(): Record<string, SourceStats>;
  /** Every officer row an agency lists today (lazy; for tests and tools). */
  listOfficers(sourceId: string): Iterable<SimOfficer>;
  /**
   * Needs planning (needs-planning-v1.md), per agency: which R16–R18 case was seeded there (no
   * workload, odd workload rows, declared need far from the computed one, a retirement wave,
   * an appointment without or beyond its formation), with the figures served. What tests of
   * R16–R18 assert against; see {@link PlanningCaseReport}.
   */
  planningCases(): PlanningCaseReport[];
  /** Events so far: transfers and departures up to today, and the mass removal. */
  events(): { transfers: number; departures: number; massRemoval: MassRemoval | null };
  /**
   * Renders today's files and API pages (default page size) into the cache now, as an agency's
   * export is ready before the night's sync; what does not fit in `cacheBytes` renders on request.
   */
  prerender(): Promise<{ entries: number; bytes: number }>;
}

const CURSOR_PREFIX = 'c1.';
/** Page size of `GET /v1/officers` without `limit` (pksync's default `page_size` too). */
const DEFAULT_PAGE = 500;
/** Files of agencies listing more rows than this always stream (never buffered whole). */
export const CACHE_MAX_ROWS = 100_000;

/**
 * Starts the regional agency simulator: every selected agency served over `api`, `csv` and `xlsx`
 * with its seeded data, defects and fault modes. Deterministic for a seed.
 *
 * @example
 * const sim = await start({ port: 0, seed: 1, regions: '16' });
 * const sources = sim.sourcesFile(); // import with `pksync sources import`
 * sim.setDay(3);                     // 16.71-disnaker's mass removal
 * await sim.close();
 */
export async function start(config: SimulatorConfig): Promise<Simulator> {
  const seed = config.seed;
  const baseDate = config.baseDate ?? '2026-06-01';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(baseDate)) throw new Error(`baseDate must be YYYY-MM-DD, got "${baseDate}"`);
  const defectRate = config.defectRate ?? 0.03;
  const delays = config.delays ?? true;
  const flakyRate = config.faultTuning?.flakyRate ?? 0.3;
  const retryAfterS = delays ? (config.faultTuning?.retryAfterS ?? 1) : 0;
  const slowMs = delays ? (config.faultTuning?.slowMs ?? 2000) : 0;
  if (config.scale !== undefined && !(config.scale > 0)) throw new Error('scale must be a positive number');
  if (config.faults) {
    for (const [id, modes] of Object.entries(config.faults)) {
      for (const m of modes) if (!FAULT_MODES.includes(m)) throw new Error(`unknown fault mode "${m}" for ${id}`);
    }
  }
  const agencies = buildWorld({
    seed,
    regions: config.regions,
    scale: config.scale ?? 1,
    defectRate,
    ...(config.officers ? { officers: config.officers } : {}),
    ...(config.transports ? { transports: config.transports } : {}),
    ...(config.faults !== undefined ? { faults: config.faults } : {}),
    ...(config.workload === false ? { workload: false } : {}),
  });
  const byId = new Map(agencies.map((a) => [a.id, a]));
  for (const id of [
    ...Object.keys(config.officers ?? {}),
    ...Object.keys(config.transports ?? {}),
    ...Object.keys(config.faults || {}),
  ]) {
    if (!byId.has(id)) throw new Error(`unknown source id "${id}" in simulator options`);
  }
  let massRemoval: MassRemoval | null = null;
  if (config.massRemoval !== null) {
    const m = config.massRemoval ?? {
      day: 3,
      sourceId: byId.has('16.71-disnaker') ? '16.71-disnaker' : (agencies.find((a) => a.officers >= 6)?.id ?? ''),
    };
    if (m.sourceId && byId.has(m.sourceId)) massRemoval = { day: m.day, sourceId: m.sourceId, share: m.share ?? 0.6 };
    else if (config.massRemoval) throw new Error(`massRemoval.sourceId "${m.sourceId}" is not a simulated source`);
  }
  let timeline = new Timeline(seed, agencies, config.day ?? 0, massRemoval);
  // Everything a file's bytes depend on besides the agency and the day's events.
  const worldTag = JSON.stringify({
    seed,
    baseDate,
    defectRate,
    scale: config.scale ?? 1,
    regions: config.regions,
    officers: config.officers ?? null,
    transports: config.transports ?? null,
  });
  const worldDigest = createHash('sha256').update(worldTag).digest('base64url');
  /** Files and pages that do not change with the days: formations and workload (planning.ts). */
  const timeless = (file: string) =>
    file === 'formasi.csv' ||
    file === 'workloads.csv' ||
    file.startsWith('v1/formations') ||
    file.startsWith('v1/workloads');
  /** A strong ETag that changes exactly when the file's content can (see Timeline.contentVersion). */
  const etagOf = (agency: SimAgency, file: string) =>
    `"${createHash('sha256')
      .update(`${worldDigest}\n${agency.id}\n${file}\n${timeless(file) ? 0 : timeline.contentVersion(agency)}`)
      .digest('base64url')
      .slice(0, 27)}"`;
  const stats = new Map<string, SourceStats>(agencies.map((a) => [a.id, { requests: 0, faults: 0, notModified: 0 }]));
  const cache = new BodyCache(config.cacheBytes ?? 64 * 1024 * 1024);

  function* rowsOf(agency: SimAgency, from = 0): Generator<SimOfficer | null> {
    const t = timeline;
    const n = t.rowCount(agency);
    for (let i = from; i < n; i++) yield t.officerAt(agency, i, baseDate, defectRate, byId);
  }
  const planning = new Planning(seed, baseDate, defectRate);
  /** An agency's workload over every year served (its file, its sheet). */
  const allWorkloads = (agency: SimAgency) => planning.years.flatMap((y) => planning.workloadRows(agency, y));

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, { error: { code: 'internal', message: String((e as Error)?.message ?? e) } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname;
    if (path === '/healthz') return sendJson(res, 200, { ok: true, day: timeline.day });
    if (path === '/sources.json') return sendJson(res, 200, sourcesFile());
    if (path === '/_admin/state') return sendJson(res, 200, state());
    if (path === '/_admin/day') {
      if (req.method !== 'POST')
        return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'use POST' } });
      const body = await readSmallBody(req);
      let parsed: unknown;
      try {
        parsed = body ? JSON.parse(body) : { advance: 1 };
      } catch {
        return sendJson(res, 400, {
          error: { code: 'bad_body', message: 'body must be JSON {"day": N} or {"advance": N}' },
        });
      }
      const p = parsed as { day?: unknown; advance?: unknown };
      const target = typeof p.day === 'number' ? p.day : typeof p.advance === 'number' ? timeline.day + p.advance : NaN;
      if (!Number.isInteger(target) || target < 0 || target > 3650) {
        return sendJson(res, 400, { error: { code: 'bad_day', message: 'day must be an integer from 0 to 3650' } });
      }
      setDay(target);
      return sendJson(res, 200, state());
    }
    const m =
      /^\/agencies\/([^/]+)\/(v1\/officers|v1\/formations|v1\/workloads|pejabat\.csv|formasi\.csv|workloads\.csv|data\.xlsx)$/.exec(
        path,
      );
    if (!m) return sendJson(res, 404, { error: { code: 'not_found', message: `no route ${path}` } });
    const agency = byId.get(decodeURIComponent(m[1]!));
    if (!agency) return sendJson(res, 404, { error: { code: 'not_found', message: 'unknown agency' } });
    if (req.method !== 'GET') return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'use GET' } });
    const st = stats.get(agency.id)!;
    const n = ++st.requests;
    const f = agency.faults;
    // Faults, in the order a real gateway would apply them.
    if (f.has('down')) {
      st.faults++;
      req.socket.destroy();
      return;
    }
    if (f.has('token_required') && req.headers.authorization !== `Bearer ${agency.token}`) {
      st.faults++;
      return sendJson(res, 401, { error: { code: 'unauthorized', message: 'token tidak valid' } });
    }
    if (f.has('rate_limited') && n % 2 === 1) {
      st.faults++;
      res.setHeader('retry-after', String(retryAfterS));
      return sendJson(res, 429, { error: { code: 'rate_limited', message: 'terlalu banyak permintaan' } });
    }
    let truncate = false;
    if (f.has('flaky')) {
      const rng = Rng.of(seed, 'flaky', agency.id, n);
      if (rng.chance(flakyRate)) {
        st.faults++;
        const kind = rng.pick(['500', '502', '503', 'reset', 'truncate'] as const);
        if (kind === 'reset') {
          req.socket.destroy();
          return;
        }
        if (kind === 'truncate') truncate = true;
        else return sendJson(res, Number(kind), { error: { code: 'upstream', message: 'server sedang sibuk' } });
      }
    }
    if (f.has('slow') && slowMs > 0) await delay(slowMs);
    if (f.has('malformed')) {
      st.faults++;
      if (m[2]!.startsWith('v1/')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"data": [{"nip": "19850312 2010');
      } else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      }
      return;
    }
    // An agency that sends no workload has no workload file (never in the sources file) nor page:
    // the exchange format's "404 means none".
    if ((m[2] === 'workloads.csv' || m[2] === 'v1/workloads') && !agency.planning.sendsWorkload) {
      return sendJson(res, 404, { error: { code: 'not_found', message: 'tidak ada data beban kerja' } });
    }
    if (!m[2]!.startsWith('v1/')) {
      // Files answer conditional GETs (RFC 9110 § 13.1.2): an unchanged file is not sent again.
      if (answeredNotModified(agency, req, res, etagOf(agency, m[2]!), !truncate)) return;
    }
    switch (m[2]) {
      case 'v1/officers':
        return officersPage(agency, url, req, res, truncate);
      case 'v1/formations': {
        const year = Number(url.searchParams.get('year') ?? planning.years.at(-1));
        if (!Number.isInteger(year))
          return sendJson(res, 400, { error: { code: 'bad_year', message: 'year must be a number' } });
        // Formations do not change with the days (as formasi.csv): one tag per year asked.
        if (answeredNotModified(agency, req, res, etagOf(agency, `v1/formations?year=${year}`))) return;
        const data = planning.formations(agency).filter((r) => r.tahun === year);
        return sendJson(res, 200, { data });
      }
      case 'v1/workloads': {
        const year = Number(url.searchParams.get('year') ?? planning.years.at(-1));
        if (!Number.isInteger(year))
          return sendJson(res, 400, { error: { code: 'bad_year', message: 'year must be a number' } });
        const rows = planning.workloadRows(agency, year);
        // A year without workload: none (404), as for an agency that sends none.
        if (rows.length === 0)
          return sendJson(res, 404, { error: { code: 'not_found', message: `tidak ada beban kerja tahun ${year}` } });
        // Workload does not change with the days either.
        if (answeredNotModified(agency, req, res, etagOf(agency, `v1/workloads?year=${year}`))) return;
        return sendJson(res, 200, { data: rows.map(workloadRecord) });
      }
      case 'pejabat.csv':
      case 'formasi.csv':
      case 'workloads.csv':
      case 'data.xlsx':
        return streamBody(res, FILE_TYPES[m[2]](agency), await fileBody(agency, m[2]), truncate);
    }
  }

  function renderFile(agency: SimAgency, file: AgencyFile): Readable {
    switch (file) {
      case 'pejabat.csv':
        return Readable.from(officersCsv(rowsOf(agency), agency.style));
      case 'formasi.csv':
        return Readable.from([formationsCsv(planning.formations(agency), agency.style)]);
      case 'workloads.csv':
        return Readable.from([workloadsCsv(allWorkloads(agency), agency.style)]);
      case 'data.xlsx':
        return officersXlsx(
          rowsOf(agency),
          planning.formations(agency),
          agency.style,
          new Date(`${baseDate}T00:00:00Z`),
          agency.planning.sendsWorkload ? allWorkloads(agency) : null,
        );
    }
  }

  /** A file's bytes from the cache, rendered into it, or (a big agency's, or cache off) streamed. */
  async function fileBody(agency: SimAgency, file: AgencyFile): Promise<Buffer | Readable> {
    const key = `${agency.id}/${file}`;
    const tag = etagOf(agency, file);
    const hit = cache.get(key, tag);
    if (hit) return hit;
    if (!cache.enabled || timeline.rowCount(agency) > CACHE_MAX_ROWS) return renderFile(agency, file);
    const chunks: Buffer[] = [];
    for await (const c of renderFile(agency, file) as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks);
    cache.set(key, tag, body);
    return body;
  }

  /** One `GET /v1/officers` page (cached per agency, cursor and limit while the content holds). */
  function pageBody(agency: SimAgency, from: number, limit: number): Buffer {
    const key = `${agency.id}/v1/officers/${from}/${limit}`;
    const tag = String(timeline.contentVersion(agency));
    const hit = cache.get(key, tag);
    if (hit) return hit;
    const total = timeline.rowCount(agency);
    const data: Record<string, unknown>[] = [];
    let i = from;
    for (; i < total && data.length < limit; i++) {
      const o = timeline.officerAt(agency, i, baseDate, defectRate, byId);
      if (o) data.push(apiRecord(o, agency));
    }
    const next = i < total ? CURSOR_PREFIX + Buffer.from(String(i)).toString('base64url') : null;
    const body = Buffer.from(JSON.stringify({ data, next_cursor: next }));
    if (cache.enabled && total <= CACHE_MAX_ROWS) cache.set(key, tag, body);
    return body;
  }

  /** The cursor a page's body hands on, as a listing index (null on the last page). */
  function nextIndex(body: Buffer): number | null {
    const next = (JSON.parse(body.toString()) as { next_cursor: string | null }).next_cursor;
    return next === null ? null : Number(Buffer.from(next.slice(CURSOR_PREFIX.length), 'base64url').toString());
  }

  async function prerender(): Promise<{ entries: number; bytes: number }> {
    for (const a of agencies) {
      if (a.transport === 'csv') {
        await fileBody(a, 'pejabat.csv');
        await fileBody(a, 'formasi.csv');
        if (a.planning.sendsWorkload) await fileBody(a, 'workloads.csv');
      } else if (a.transport === 'xlsx') {
        await fileBody(a, 'data.xlsx');
      } else if (a.transport === 'api' && cache.enabled) {
        for (let from: number | null = 0; from !== null;) from = nextIndex(pageBody(a, from, DEFAULT_PAGE));
      }
    }
    return cache.stats();
  }

  /**
   * Sends `etag`, and (when `honour`: not while a fault truncates the answer) answers 304,
   * counted in `stats().notModified`, if the request's `If-None-Match` lists it: true when that
   * answer was sent.
   */
  function answeredNotModified(
    agency: SimAgency,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    etag: string,
    honour = true,
  ): boolean {
    res.setHeader('etag', etag);
    if (!honour || !ifNoneMatch(req.headers['if-none-match'], etag)) return false;
    stats.get(agency.id)!.notModified++;
    res.writeHead(304);
    res.end();
    return true;
  }

  function officersPage(
    agency: SimAgency,
    url: URL,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    truncate: boolean,
  ): void {
    const limitText = url.searchParams.get('limit') ?? String(DEFAULT_PAGE);
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000) {
      return sendJson(res, 400, { error: { code: 'bad_limit', message: 'limit must be an integer from 1 to 5000' } });
    }
    let from = 0;
    const cursor = url.searchParams.get('cursor');
    if (cursor !== null) {
      const decoded = cursor.startsWith(CURSOR_PREFIX)
        ? Number(Buffer.from(cursor.slice(CURSOR_PREFIX.length), 'base64url').toString())
        : NaN;
      if (!Number.isInteger(decoded) || decoded < 0)
        return sendJson(res, 400, { error: { code: 'bad_cursor', message: 'cursor tidak valid' } });
      from = decoded;
    }
    // Pages answer conditional GETs as files do (as web frameworks' JSON responses commonly do):
    // a page's bytes are those of its agency, position and size while the content holds.
    const tag = etagOf(agency, `v1/officers?from=${from}&limit=${limit}`);
    if (answeredNotModified(agency, req, res, tag, !truncate)) return;
    const body = pageBody(agency, from, limit);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    if (truncate) {
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      setImmediate(() => res.destroy());
      return;
    }
    res.end(body);
  }

  function setDay(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error('day must be a non-negative integer');
    timeline = new Timeline(seed, agencies, n, massRemoval);
  }

  function state() {
    return {
      day: timeline.day,
      date: baseDate,
      agencies: agencies.length,
      officers_day0: agencies.reduce((s, a) => s + a.officers, 0),
      transfers: timeline.transfers.length,
      departures: timeline.departures.length,
      mass_removal: massRemoval,
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : '127.0.0.1';
  const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;

  function sourcesFile(): SourceImport[] {
    return agencies.map((a) => {
      const entry: SourceImport = { id: a.id, agency: a.agency, region_code: a.region.code, transport: a.transport };
      const base = `${baseUrl}/agencies/${encodeURIComponent(a.id)}`;
      if (a.transport === 'api') entry.url = `${base}/v1`;
      if (a.transport === 'csv') {
        entry.url = `${base}/pejabat.csv`;
        entry.formations_url = `${base}/formasi.csv`;
        if (a.planning.sendsWorkload) entry.workloads_url = `${base}/workloads.csv`;
      }
      if (a.transport === 'xlsx') entry.url = `${base}/data.xlsx`;
      if (a.token && a.transport !== 'upload') entry.token = a.token;
      return entry;
    });
  }

  let closed: Promise<void> | null = null;
  return {
    url: baseUrl,
    port: addr.port,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
    setDay,
    day: () => timeline.day,
    sourcesFile,
    agencies: () => agencies,
    stats: () => Object.fromEntries([...stats].map(([k, v]) => [k, { ...v }])),
    listOfficers: (sourceId: string) => {
      const a = byId.get(sourceId);
      if (!a) throw new Error(`unknown source id "${sourceId}"`);
      return (function* () {
        for (const o of rowsOf(a)) if (o) yield o;
      })();
    },
    planningCases: () => agencies.map((a) => planning.report(a)),
    events: () => ({ transfers: timeline.transfers.length, departures: timeline.departures.length, massRemoval }),
    prerender,
  };
}

type AgencyFile = 'pejabat.csv' | 'formasi.csv' | 'workloads.csv' | 'data.xlsx';
const FILE_TYPES: Record<AgencyFile, (agency: SimAgency) => string> = {
  'pejabat.csv': (a) => 'text/csv; charset=' + (a.style.latin1 ? 'windows-1252' : 'utf-8'),
  'formasi.csv': () => 'text/csv',
  'workloads.csv': () => 'text/csv',
  'data.xlsx': () => 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** The JSON record an `api` agency returns: exchange-format field names, agency-styled values. */
function apiRecord(o: SimOfficer, agency: SimAgency): Record<string, unknown> {
  const f = renderOfficer(o, agency.style);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) if (v !== null) out[k] = v;
  return out;
}

/** True when an `If-None-Match` header lists `etag` (weak comparison, or `*`). */
function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v.replace(/^W\//, '') === bare;
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readSmallBody(req: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > 10_000) throw new Error('body too large');
  }
  return text.trim();
}

async function streamBody(
  res: http.ServerResponse,
  contentType: string,
  body: Readable | Buffer,
  truncate: boolean,
): Promise<void> {
  if (Buffer.isBuffer(body)) {
    res.writeHead(200, { 'content-type': contentType, 'content-length': body.length });
    if (!truncate) return void res.end(body);
    // A connection that breaks mid-file: the client must not use what it got.
    res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))));
    setImmediate(() => res.destroy());
    return;
  }
  res.writeHead(200, { 'content-type': contentType });
  if (truncate) {
    // A connection that breaks mid-file: the client must not use what it got.
    for await (const chunk of body as AsyncIterable<Buffer>) {
      res.write(chunk.subarray(0, Math.max(1, Math.floor(chunk.length / 2))));
      break;
    }
    body.destroy();
    setImmediate(() => res.destroy());
    return;
  }
  try {
    await pipeline(body, res);
  } catch {
    res.destroy();
  }
}
