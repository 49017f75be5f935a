import { parse as parseCsvSync } from 'csv-parse/sync';
import { z } from 'zod';
import { normaliseRegionCode, regionByCode } from '@pksync/reference';
import { sourceEntryFields, type SourceEntry } from '@pksync/core';
import { TRANSPORTS, type SourceDefinition } from './connector.types.ts';

/** Thrown by {@link parseSourcesFile}; `issues` names each bad entry and key. */
export class SourcesFileError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`Invalid sources file:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'SourcesFileError';
  }
}

const httpUrl = z
  .string()
  .max(2000)
  .refine((v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

const entrySchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be 1–100 letters, digits, dots, dashes or underscores'),
    agency: z.string().trim().min(1, 'must not be empty').max(500),
    region_code: z.string(),
    transport: z.enum(TRANSPORTS),
    url: httpUrl.nullish(),
    formations_url: httpUrl.nullish(),
    workloads_url: httpUrl.nullish(),
    token: z.string().min(1, 'must not be empty').max(4096).nullish(),
    enabled: z.boolean().optional(),
    timeout_s: z.number().int().positive().max(86_400).nullish(),
    max_bytes: z.number().int().positive().nullish(),
    max_rows: z.number().int().positive().nullish(),
  })
  .strict();

const KEYS = Object.keys(entrySchema.shape);

/**
 * Parses and validates a sources file: a JSON array, or a CSV with the same column names.
 * Unknown keys, bad values, unknown regions, a missing or superfluous `url`, and repeated ids are
 * errors naming the entry (`#3 (16.71-disnaker)`) and key. Region codes are normalised
 * (`1671` → `16.71`).
 */
export function parseSourcesFile(text: string, format: 'json' | 'csv'): SourceEntry[] {
  let raw: unknown[];
  if (format === 'json') {
    let json: unknown;
    try {
      json = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (e) {
      throw new SourcesFileError([`not valid JSON: ${(e as Error).message}`]);
    }
    if (!Array.isArray(json)) throw new SourcesFileError(['the file must hold a JSON array of sources']);
    raw = json;
  } else {
    raw = csvEntries(text);
  }
  const issues: string[] = [];
  const out: SourceEntry[] = [];
  const seen = new Set<string>();
  raw.forEach((entry, i) => {
    const label = `#${i + 1}${isObj(entry) && typeof entry.id === 'string' ? ` (${entry.id})` : ''}`;
    if (!isObj(entry)) {
      issues.push(`${label}: must be an object`);
      return;
    }
    if (typeof entry.id === 'string') {
      if (seen.has(entry.id)) issues.push(`${label}: id "${entry.id}" appears more than once`);
      seen.add(entry.id);
    }
    const parsed = entrySchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const k of issue.keys) issues.push(`${label}: unknown key "${k}" (allowed: ${KEYS.join(', ')})`);
        } else {
          issues.push(`${label}: ${String(issue.path[0] ?? '(entry)')} ${issue.message}`);
        }
      }
      return;
    }
    const s = parsed.data;
    const region = normaliseRegionCode(s.region_code);
    if (!region || !regionByCode(region)) issues.push(`${label}: region_code "${s.region_code}" is not a known region`);
    if (s.transport === 'upload' && s.url) issues.push(`${label}: url must be absent for transport "upload"`);
    if (s.transport !== 'upload' && !s.url) issues.push(`${label}: url is required for transport "${s.transport}"`);
    if (s.formations_url && s.transport !== 'csv') {
      issues.push(`${label}: formations_url is only for transport "csv" (xlsx holds a "formasi" sheet)`);
    }
    if (s.workloads_url && s.transport !== 'csv') {
      issues.push(`${label}: workloads_url is only for transport "csv" (xlsx holds a "beban_kerja" sheet)`);
    }
    out.push({ ...s, region_code: region ?? s.region_code });
  });
  if (issues.length > 0) throw new SourcesFileError(issues);
  return out;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** CSV rows → entries: empty cells are absent; numbers and booleans converted for the schema. */
function csvEntries(text: string): Record<string, unknown>[] {
  let rows: Record<string, string>[];
  try {
    rows = parseCsvSync(text, { columns: true, bom: true, skip_empty_lines: true, trim: true }) as Record<
      string,
      string
    >[];
  } catch (e) {
    throw new SourcesFileError([`not valid CSV: ${(e as Error).message}`]);
  }
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      if (v === '') continue;
      if (k === 'enabled') out[k] = /^(true|1|yes|ya)$/i.test(v) ? true : /^(false|0|no|tidak)$/i.test(v) ? false : v;
      else if (k === 'timeout_s' || k === 'max_bytes' || k === 'max_rows') out[k] = /^\d+$/.test(v) ? Number(v) : v;
      else out[k] = v;
    }
    return out;
  });
}

/** A sources-file entry as a connector's {@link SourceDefinition} (token as given, not encrypted). */
export function sourceDefinitionFromImport(s: SourceEntry): SourceDefinition {
  const f = sourceEntryFields(s);
  return {
    id: s.id,
    agency: f.agency,
    regionCode: f.region_code,
    transport: f.transport,
    url: f.url,
    formationsUrl: f.formations_url,
    workloadsUrl: f.workloads_url,
    token: s.token ?? null,
    enabled: f.enabled,
    timeoutS: f.timeout_s,
    maxBytes: f.max_bytes,
    maxRows: f.max_rows,
  };
}
