/**
 * The rule codes of reconciliation-rules.md (R1–R15) and needs-planning-v1.md (R16–R18), exactly as the spec spells them, with
 * their severities. Every package uses this one vocabulary.
 */
export type Severity = 'error' | 'warning' | 'info';

/** Codes a record can be rejected with (R1, R3, R4, R6). */
export const REJECTION_CODES = [
  'nip_invalid',
  'level_unknown',
  'grade_unknown',
  'region_mismatch',
  'region_unknown',
  'field_missing',
  'date_invalid',
  'date_in_future',
  'field_too_long',
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

/** Every finding code with its severity and the rule that raises it. */
export const FINDING_RULES = {
  record_rejected: { severity: 'error', rule: 'R6' },
  gender_mismatch: { severity: 'warning', rule: 'R2' },
  birthdate_mismatch: { severity: 'warning', rule: 'R2' },
  grade_level_mismatch: { severity: 'warning', rule: 'R3' },
  duplicate_in_source: { severity: 'warning', rule: 'R7' },
  mass_removal_held: { severity: 'error', rule: 'R8' },
  source_failed: { severity: 'error', rule: 'R9' },
  source_stale: { severity: 'error', rule: 'R9' },
  transferred_officer_still_listed: { severity: 'warning', rule: 'R10' },
  conflicting_assignment: { severity: 'error', rule: 'R10' },
  past_retirement_age: { severity: 'warning', rule: 'R11' },
  formation_missing: { severity: 'warning', rule: 'R12' },
  over_formation: { severity: 'warning', rule: 'R12' },
  need_differs_from_declared: { severity: 'warning', rule: 'R16' },
  workload_missing: { severity: 'warning', rule: 'R16' },
  appointed_without_formation: { severity: 'error', rule: 'R17' },
  appointed_beyond_formation: { severity: 'error', rule: 'R17' },
  retirement_wave: { severity: 'warning', rule: 'R18' },
  delivery_failed: { severity: 'error', rule: 'R15' },
} as const satisfies Record<string, { severity: Severity; rule: string }>;

export type FindingCode = keyof typeof FINDING_RULES;
export const FINDING_CODES = Object.keys(FINDING_RULES) as FindingCode[];

export function severityOf(code: FindingCode): Severity {
  return FINDING_RULES[code].severity;
}

/** Fetch-level failure codes (exchange-format-v1.md § Limits, R9). */
export const FETCH_ERROR_CODES = [
  'payload_too_large',
  'http_error',
  'timeout',
  'network_error',
  'invalid_response',
  'unauthorized',
  'unparseable_file',
  'no_upload',
] as const;
export type FetchErrorCode = (typeof FETCH_ERROR_CODES)[number];
