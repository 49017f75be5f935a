import { FINDING_RULES, describeCode, type FindingCode } from '@pksync/core';
import { regionByCode } from '@pksync/reference';
import { fixHint } from './fix-hints.ts';

/**
 * R15 digests as data: what one province (or the ministry) is told after a run. Pure — no I/O,
 * no clock: the caller passes `generatedAt`. Stored as the outbox row's payload and rendered at
 * delivery (e-mail text + HTML, webhook JSON), so every retry sends the same bytes.
 */

export type DigestEntryKind = 'new' | 'reminder' | 'resolved' | 'escalation' | 'delivery_failed';
export const DIGEST_ENTRY_KINDS: readonly DigestEntryKind[] = [
  'new',
  'reminder',
  'resolved',
  'escalation',
  'delivery_failed',
];

/** The finding fields a digest uses (a subset of the `findings` row). */
export interface DigestFindingInput {
  id: number;
  code: string;
  severity: 'error' | 'warning' | 'info';
  province_code: string;
  region_code: string | null;
  source_id: string | null;
  nip: string | null;
  row: number | null;
  message: string;
  first_seen_at: Date | string;
  ack_note?: string | null;
}

export interface DigestRow {
  findingId: number;
  kind: DigestEntryKind;
  sourceId: string | null;
  /** Full NIP: masked when rendered into e-mail. */
  nip: string | null;
  row: number | null;
  message: string;
  firstSeenAt: string;
  ackNote: string | null;
}

export interface DigestGroup {
  provinceCode: string;
  regionCode: string | null;
  regionName: string;
  code: string;
  rule: string;
  severity: 'error' | 'warning' | 'info';
  description: string;
  fix: string;
  counts: Record<DigestEntryKind, number>;
  /** At most `maxRowsPerGroup` rows; `omittedRows` says how many more the API lists. */
  rows: DigestRow[];
  omittedRows: number;
}

export interface Digest {
  schema: 'pksync.digest.v1';
  audience: 'province' | 'ministry';
  runId: string | null;
  /** Null for the ministry's digest. */
  provinceCode: string | null;
  provinceName: string | null;
  generatedAt: string;
  totals: Record<DigestEntryKind, number>;
  groups: DigestGroup[];
}

export interface BuildDigestInput {
  audience: 'province' | 'ministry';
  runId: string | null;
  provinceCode: string | null;
  generatedAt: Date;
  entries: readonly { kind: DigestEntryKind; finding: DigestFindingInput }[];
  /** Rows kept per (region, rule) group; the counts always cover every finding. Default 100. */
  maxRowsPerGroup?: number;
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;
const KIND_ORDER: Record<DigestEntryKind, number> = {
  escalation: 0,
  delivery_failed: 1,
  new: 2,
  reminder: 3,
  resolved: 4,
};

export function emptyCounts(): Record<DigestEntryKind, number> {
  return { new: 0, reminder: 0, resolved: 0, escalation: 0, delivery_failed: 0 };
}

/** "Kota Palembang", "Provinsi Sumatera Selatan", or the bare code when unknown. */
export function regionLabel(code: string | null): string {
  if (!code) return 'Tanpa wilayah';
  const r = regionByCode(code);
  if (!r) return code;
  return r.level === 'province' ? `Provinsi ${r.name.replace(/^Provinsi\s+/i, '')}` : r.name;
}

function iso(v: Date | string): string {
  return v instanceof Date ? v.toISOString() : new Date(v).toISOString();
}

/**
 * Groups findings by regency/city and rule, counts first, then the rows (R15).
 * Groups are ordered by region code (the province's own level first), then severity, then code;
 * rows by kind (new, reminder, resolved), source, row, NIP.
 */
export function buildDigest(input: BuildDigestInput): Digest {
  const max = input.maxRowsPerGroup ?? 100;
  const groups = new Map<string, DigestGroup & { all: DigestRow[] }>();
  const totals = emptyCounts();
  for (const { kind, finding: f } of input.entries) {
    totals[kind]++;
    const key = `${f.province_code}|${f.region_code ?? ''}|${f.code}`;
    let g = groups.get(key);
    if (!g) {
      const known = (FINDING_RULES as Record<string, { severity: string; rule: string }>)[f.code];
      g = {
        provinceCode: f.province_code,
        regionCode: f.region_code,
        regionName: regionLabel(f.region_code ?? null),
        code: f.code,
        rule: known?.rule ?? '',
        severity: f.severity,
        description: known ? describeCode(f.code as FindingCode) : f.code,
        fix: fixHint(f.code),
        counts: emptyCounts(),
        rows: [],
        omittedRows: 0,
        all: [],
      };
      groups.set(key, g);
    }
    g.counts[kind]++;
    g.all.push({
      findingId: Number(f.id),
      kind,
      sourceId: f.source_id,
      nip: f.nip,
      row: f.row,
      message: f.message,
      firstSeenAt: iso(f.first_seen_at),
      ackNote: f.ack_note ?? null,
    });
  }
  const ordered = [...groups.values()].sort(
    (a, b) =>
      a.provinceCode.localeCompare(b.provinceCode) ||
      (a.regionCode ?? '').localeCompare(b.regionCode ?? '') ||
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      a.code.localeCompare(b.code),
  );
  const out: DigestGroup[] = ordered.map(({ all, ...g }) => {
    all.sort(
      (a, b) =>
        KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
        (a.sourceId ?? '').localeCompare(b.sourceId ?? '') ||
        (a.row ?? 0) - (b.row ?? 0) ||
        (a.nip ?? '').localeCompare(b.nip ?? '') ||
        a.findingId - b.findingId,
    );
    return { ...g, rows: all.slice(0, max), omittedRows: Math.max(0, all.length - max) };
  });
  const province = input.provinceCode ? regionByCode(input.provinceCode) : undefined;
  return {
    schema: 'pksync.digest.v1',
    audience: input.audience,
    runId: input.runId,
    provinceCode: input.provinceCode,
    provinceName: province ? province.name : null,
    generatedAt: input.generatedAt.toISOString(),
    totals,
    groups: out,
  };
}

/** Parses a stored payload back into a {@link Digest}; throws naming what is wrong. */
export function parseDigest(payload: unknown): Digest {
  const d = payload as Digest;
  if (!d || typeof d !== 'object' || d.schema !== 'pksync.digest.v1' || !Array.isArray(d.groups)) {
    throw new Error('outbox payload is not a pksync.digest.v1 digest');
  }
  return d;
}
