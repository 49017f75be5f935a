/** The four transports of exchange-format-v1.md. */
export type Transport = 'api' | 'csv' | 'xlsx' | 'upload';
export const TRANSPORTS = ['api', 'csv', 'xlsx', 'upload'] as const satisfies readonly Transport[];

/**
 * One source (agency feed) as a connector sees it: the `sources` row with its token already
 * decrypted. Per-source limits, when set, override the default fetch limits.
 */
export interface SourceDefinition {
  id: string;
  agency: string;
  regionCode: string;
  transport: Transport;
  url: string | null;
  formationsUrl: string | null;
  /** `csv`: the workload CSV (needs-planning-v1.md), optional. */
  workloadsUrl: string | null;
  /** Decrypted bearer token; a secret: never log it, never put it in an error message. */
  token: string | null;
  enabled: boolean;
  timeoutS: number | null;
  maxBytes: number | null;
  maxRows: number | null;
}

/**
 * One source as the sources file (register-api-v1.md § Sources file) and `PUT /sources/{id}`
 * give it, validated; the fields left out take the defaults of {@link sourceEntryFields}.
 * `token`: absent keeps the stored token (tokens are never exported, so a re-imported export
 * must not wipe them); `null` removes it.
 */
export interface SourceEntry {
  id: string;
  agency: string;
  region_code: string;
  transport: Transport;
  url?: string | null;
  formations_url?: string | null;
  workloads_url?: string | null;
  token?: string | null;
  enabled?: boolean;
  timeout_s?: number | null;
  max_bytes?: number | null;
  max_rows?: number | null;
}

/**
 * An entry's fields (not its id or token) with the defaults of those left out: no URLs, enabled,
 * no per-source limits (the fetch defaults apply). The one place these defaults are written.
 */
export function sourceEntryFields(s: SourceEntry) {
  return {
    agency: s.agency.trim(),
    region_code: s.region_code,
    transport: s.transport,
    url: s.url ?? null,
    formations_url: s.formations_url ?? null,
    workloads_url: s.workloads_url ?? null,
    enabled: s.enabled ?? true,
    timeout_s: s.timeout_s ?? null,
    max_bytes: s.max_bytes ?? null,
    max_rows: s.max_rows ?? null,
  };
}
