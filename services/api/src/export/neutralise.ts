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

/**
 * Text for an XLSX cell: XML 1.0 cannot hold most control characters, so they are written as
 * OOXML escapes (`_x001B_`), which Excel shows as the character; a literal `_xHHHH_` in the data is
 * itself escaped (`_x005F_`) so it is not decoded.
 */
export function xlsxText(value: string): string {
  return value.replace(/_x([0-9A-Fa-f]{4})_/g, '_x005F_x$1_').replace(
    // The control characters XML 1.0 refuses are exactly what this must match.
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g,
    (c) => `_x${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}_`,
  );
}
