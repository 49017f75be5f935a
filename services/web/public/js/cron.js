/**
 * The next time a 5-field cron expression (minute hour day-of-month month day-of-week, as
 * node-cron reads SYNC_CRON) fires in an IANA time zone — so the overview can show the next
 * scheduled run from `GET /runs`' `schedule {cron, timezone}`. Supports `*`, numbers, lists,
 * ranges and steps; returns null for anything else (the console then shows "—").
 */

const FIELDS = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12 },
  { min: 0, max: 7 },
];

function parseField(text, { min, max }) {
  const values = new Set();
  for (const part of text.split(',')) {
    const m = /^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) return null;
    let lo = min;
    let hi = max;
    if (m[1] !== '*') {
      const [a, b] = m[1].split('-').map(Number);
      lo = a;
      hi = b === undefined ? (m[2] ? max : a) : b;
    }
    const step = m[2] ? Number(m[2]) : 1;
    if (lo < min || hi > max || lo > hi || step < 1) return null;
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return values;
}

/** Parses `m h dom mon dow` (an optional leading seconds field is accepted and ignored). */
export function parseCron(expr) {
  let parts = String(expr).trim().split(/\s+/);
  if (parts.length === 6) parts = parts.slice(1);
  if (parts.length !== 5) return null;
  const sets = parts.map((p, i) => parseField(p, FIELDS[i]));
  if (sets.some((s) => s === null)) return null;
  const [minute, hour, dom, month, dow] = sets;
  if (dow.has(7)) dow.add(0);
  return { minute, hour, dom, month, dow, domAny: parts[2] === '*', dowAny: parts[4] === '*' };
}

function localParts(date, timeZone) {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  });
  const p = Object.fromEntries(fmt.formatToParts(date).map((x) => [x.type, x.value]));
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(p.weekday);
  return { month: Number(p.month), day: Number(p.day), hour: Number(p.hour), minute: Number(p.minute), weekday };
}

function dayMatches(c, l) {
  // cron: when both day fields are restricted, either may match
  if (c.domAny && c.dowAny) return true;
  if (c.domAny) return c.dow.has(l.weekday);
  if (c.dowAny) return c.dom.has(l.day);
  return c.dom.has(l.day) || c.dow.has(l.weekday);
}

/** The first minute strictly after `from` when `expr` fires in `timeZone`, or null (none within 400 days). */
export function nextCronTime(expr, timeZone, from = new Date()) {
  const c = parseCron(expr);
  if (!c) return null;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    return null;
  }
  let t = Math.floor(from.getTime() / 60_000) * 60_000 + 60_000;
  const end = t + 400 * 24 * 60 * 60_000;
  while (t < end) {
    const l = localParts(new Date(t), timeZone);
    if (!c.month.has(l.month) || !dayMatches(c, l) || !c.hour.has(l.hour)) {
      // jump to the next whole hour: stepping by local hours stays right across DST changes
      t += (60 - l.minute) * 60_000;
      continue;
    }
    if (c.minute.has(l.minute)) return new Date(t);
    t += 60_000;
  }
  return null;
}
