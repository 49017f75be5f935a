/**
 * Characters that make a spreadsheet treat a cell as a formula (or a DDE command): `=`, `+`, `-`,
 * `@`, tab and carriage return at the start (OWASP "CSV injection").
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Neutralises one cell for CSV/XLSX: a value starting with a formula character gets a leading `'`,
 * which spreadsheets show as text and never run. Everything else is returned unchanged.
 *
 * @example neutraliseCell('=HYPERLINK("http://x")') // "'=HYPERLINK(\"http://x\")"
 */
export function neutraliseCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** One CSV field: neutralised, then quoted when it holds a separator, quote or line break. */
export function csvField(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const v = neutraliseCell(value);
  return /[",;\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}
