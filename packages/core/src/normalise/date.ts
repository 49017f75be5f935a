/**
 * Dates in the forms agencies send (exchange-format-v1.md § OfficerRecord `tanggal_lahir`):
 * `YYYY-MM-DD` (optionally with a time part), `DD-MM-YYYY`, `DD/MM/YYYY`, `DD.MM.YYYY`,
 * `D MMMM YYYY` with Indonesian (or English) month names, Excel date cells (`Date`) and Excel
 * serial numbers.
 */

const MONTHS: Record<string, number> = {
  januari: 1,
  jan: 1,
  january: 1,
  februari: 2,
  feb: 2,
  pebruari: 2,
  february: 2,
  maret: 3,
  mar: 3,
  march: 3,
  april: 4,
  apr: 4,
  mei: 5,
  may: 5,
  juni: 6,
  jun: 6,
  june: 6,
  juli: 7,
  jul: 7,
  july: 7,
  agustus: 8,
  agu: 8,
  agt: 8,
  ags: 8,
  aug: 8,
  august: 8,
  september: 9,
  sep: 9,
  sept: 9,
  oktober: 10,
  okt: 10,
  oct: 10,
  october: 10,
  november: 11,
  nov: 11,
  nop: 11,
  nopember: 11,
  desember: 12,
  des: 12,
  dec: 12,
  december: 12,
};

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** True when year/month/day is a real calendar date (1 ≤ month ≤ 12, day within the month). */
export function isRealDate(y: number, m: number, d: number): boolean {
  if (!Number.isInteger(y) || !Number.isInteger(m) || !Number.isInteger(d)) return false;
  if (y < 1000 || y > 9999 || m < 1 || m > 12 || d < 1) return false;
  const max = m === 2 && isLeapYear(y) ? 29 : DAYS_IN_MONTH[m - 1]!;
  return d <= max;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `YYYY-MM-DD` from parts, or null when the parts are not a real date. */
export function formatDate(y: number, m: number, d: number): string | null {
  return isRealDate(y, m, d) ? `${y}-${pad2(m)}-${pad2(d)}` : null;
}

// Excel's 1900 date system: serial 1 = 1900-01-01; serial 60 is Excel's fictitious 1900-02-29.
const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);
const MAX_EXCEL_SERIAL = 2958465; // 9999-12-31

function fromExcelSerial(serial: number): string | null {
  if (!Number.isFinite(serial) || serial < 1 || serial > MAX_EXCEL_SERIAL) return null;
  const whole = Math.floor(serial);
  if (whole === 60) return null;
  const days = whole < 60 ? whole + 1 : whole;
  return fromDateObject(new Date(EXCEL_EPOCH_MS + days * 86_400_000));
}

function fromDateObject(d: Date): string | null {
  const t = d.getTime();
  if (Number.isNaN(t)) return null;
  // Spreadsheet libraries hand date cells over as UTC midnight: read the UTC calendar date.
  return formatDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

const ISO_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const DMY_RE = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/;
const DMONTHY_RE = /^(\d{1,2})[\s-]+([A-Za-z]+)\.?[\s-]+(\d{4})$/;

/**
 * The calendar date `value` denotes, as `YYYY-MM-DD`, or null when it is not a real date in one
 * of the accepted forms. Numbers are Excel serial dates; `Date` objects are read in UTC.
 *
 * @example parseDate('9 Oktober 1985') // '1985-10-09'
 * @example parseDate('31/02/2020') // null
 */
export function parseDate(value: unknown): string | null {
  if (typeof value === 'string') return parseDateText(value);
  if (value instanceof Date) return fromDateObject(value);
  if (typeof value === 'number') return fromExcelSerial(value);
  return null;
}

function parseDateText(input: string): string | null {
  const s = input.trim();
  // Fast path for the canonical form: the overwhelming majority of values.
  if (s.length === 10 && s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45) {
    const y = num4(s, 0);
    const m = num2(s, 5);
    const d = num2(s, 8);
    if (y >= 0 && m >= 0 && d >= 0) return formatDate(y, m, d);
  }
  // Fast path for DD-MM-YYYY and DD/MM/YYYY, the usual spreadsheet forms.
  if (s.length === 10) {
    const sep = s.charCodeAt(2);
    if ((sep === 45 || sep === 47) && s.charCodeAt(5) === sep) {
      const d = num2(s, 0);
      const mo = num2(s, 3);
      const y = num4(s, 6);
      if (y >= 0 && mo >= 0 && d >= 0) return formatDate(y, mo, d);
    }
  }
  let m = ISO_RE.exec(s);
  if (m) return formatDate(Number(m[1]), Number(m[2]), Number(m[3]));
  m = DMY_RE.exec(s);
  if (m) return formatDate(Number(m[3]), Number(m[2]), Number(m[1]));
  m = DMONTHY_RE.exec(s);
  if (m) {
    const month = MONTHS[m[2]!.toLowerCase()];
    return month ? formatDate(Number(m[3]), month, Number(m[1])) : null;
  }
  return null;
}

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1000;
}
function num2(s: string, i: number): number {
  const v = digit(s, i) * 10 + digit(s, i + 1);
  return v >= 0 ? v : -1;
}
function num4(s: string, i: number): number {
  const v = digit(s, i) * 1000 + digit(s, i + 1) * 100 + digit(s, i + 2) * 10 + digit(s, i + 3);
  return v >= 0 ? v : -1;
}

/** Parsed `YYYY-MM-DD` parts; the input must already be canonical. */
export function dateParts(iso: string): { y: number; m: number; d: number } {
  return { y: num4(iso, 0), m: num2(iso, 5), d: num2(iso, 8) };
}

/** The years a reference date (`as_of`) may be in: 1900–9999 (docs/decisions.md § Hostile input). */
export const REFERENCE_DATE_RANGE = { minYear: 1900, maxYear: 9999 } as const;

/**
 * True when `value` is a reference date: exactly `YYYY-MM-DD`, a real calendar date, in a year
 * of {@link REFERENCE_DATE_RANGE}. The one check of an `as_of` a person gives (`POST /sync`,
 * `POST /check`, `pksync check --as-of`, `pksync sync --as-of`), so that a date such as
 * `2026-02-30` or `0000-01-01` is refused as bad input instead of failing deep in the pipeline.
 * Dates inside agency files go through {@link parseDate} instead (more forms, years 1000–9999).
 *
 * @example isCalendarDate('2024-02-29') // true
 * @example isCalendarDate('2026-02-30') // false
 * @example isCalendarDate('0000-01-01') // false
 */
export function isCalendarDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const { y, m, d } = dateParts(value);
  return y >= REFERENCE_DATE_RANGE.minYear && y <= REFERENCE_DATE_RANGE.maxYear && isRealDate(y, m, d);
}

/**
 * Whole years from `birth` to `on` (both `YYYY-MM-DD`). Someone born on 29 February turns a year
 * older on 1 March in common years (the birthday has not come while `on` is 28 February).
 */
export function ageInYears(birth: string, on: string): number {
  const b = dateParts(birth);
  const o = dateParts(on);
  let age = o.y - b.y;
  if (o.m < b.m || (o.m === b.m && o.d < b.d)) age--;
  return age;
}
