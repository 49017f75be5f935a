// Titles written before a name: `Dr.`, `Drs.`, `Ir.`, `Prof.`, `H.` (haji), `Hj.`, `dr.`, `drg.`.
const PREFIX_RE = /^(?:prof|dr|drs|dra|drg|ir|h|hj|dr\(hc\))\.?\s+/i;
// Degrees that follow a name without a comma: `Budi Santoso S.E. M.M.`. A dotted word is always a
// degree; without dots only the forms that are never a name (`SE`, `MM`) are, so `Budi Ma` stays.
const SUFFIX_WORDS = new Set([
  'se',
  'sh',
  'spd',
  'ssos',
  'skom',
  'spsi',
  'mm',
  'msi',
  'mpd',
  'mkes',
  'phd',
  'mba',
  'amd',
]);
const DEGREE_RE = /^[a-z]{1,4}\.(?:[a-z]{1,4}\.?)*$/;

/**
 * The form of a name used for matching and search: titles before and after removed, lower case,
 * accents removed, single spaces. Display keeps the name as given.
 *
 * @example normaliseName('Dr. Budi  SANTOSO, S.E., M.M.') // 'budi santoso'
 */
export function normaliseName(name: string): string {
  let s = name;
  // Indonesian convention: everything after the first comma is academic degrees.
  const comma = s.indexOf(',');
  if (comma > 0) s = s.slice(0, comma);
  s = s.trim();
  for (let m = PREFIX_RE.exec(s); m && m[0].length < s.length; m = PREFIX_RE.exec(s)) {
    s = s.slice(m[0].length);
  }
  let out = s.toLowerCase();
  // Accents only when present: normalize() is comparatively slow.
  if (/[^ -~]/.test(out)) out = out.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const words = out.split(/\s+/).filter((w) => w !== '');
  for (let last = words[words.length - 1]; words.length > 1 && last !== undefined; last = words[words.length - 1]) {
    if (!SUFFIX_WORDS.has(last) && !DEGREE_RE.test(last)) break;
    words.pop();
  }
  return words.join(' ');
}
