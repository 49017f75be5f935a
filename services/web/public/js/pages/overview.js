import { h, table } from '../dom.js';
import { t } from '../i18n.js';
import { api, items } from '../api.js';
import { LEVELS, coverageText, dateTime, figures, num, scopeText } from '../format.js';
import { GRID_COLUMNS, GRID_ROWS, TILES, coverageClass } from '../tilemap.js';
import { runStatusBadge } from '../ui.js';

/** The columns every region table shares (overview and province page). */
export function figureColumns(nameLabel, link) {
  return [
    { label: nameLabel, value: (r) => (link && r.code ? h('a', { href: link(r) }, r.name) : r.name) },
    ...LEVELS.map((level) => ({
      label: t(`col.level.${level}`),
      value: (r) => num(r.f.officers[level]),
      num: true,
    })),
    { label: t('col.formation'), value: (r) => num(r.f.approved), num: true },
    { label: t('col.shortfall'), value: (r) => num(r.f.shortfall), num: true },
    {
      label: t('col.covered'),
      // a regency/city is covered or not (R13); a province counts its covered regencies/cities
      value: (r) =>
        r.level === 'regency' ? (r.f.covered ? t('common.yes') : t('common.no')) : coverageText(r.f.covered, r.f.total),
      num: true,
    },
    { label: t('col.staleSources'), value: (r) => num(r.f.staleSources), num: true },
    { label: t('col.openFindings'), value: (r) => num(r.f.openFindings), num: true },
  ];
}

/** Tiles of the 38 provinces, coloured by coverage; each tile links to its province page. */
export function tileMap(provinces) {
  const byCode = new Map(provinces.map((p) => [p.code, p]));
  return h(
    'div',
    { class: 'tilemap-wrap' },
    h(
      'ul',
      {
        class: 'tilemap',
        style: `--cols: ${GRID_COLUMNS}; --rows: ${GRID_ROWS}`,
        'aria-label': t('overview.map'),
      },
      TILES.map((tile) => {
        const p = byCode.get(tile.code);
        const f = p ? p.f : { covered: null, total: null };
        const name = p ? p.name : tile.code;
        const label = t('tile.label', {
          name,
          covered: f.covered ?? t('common.none'),
          total: f.total ?? t('common.none'),
        });
        return h(
          'li',
          { style: `grid-column: ${tile.col + 1}; grid-row: ${tile.row + 1}` },
          h(
            'a',
            {
              class: `tile ${coverageClass(f.covered, f.total)}`,
              href: `#/province/${encodeURIComponent(tile.code)}`,
              title: label,
              'aria-label': label,
              'data-code': tile.code,
            },
            h('span', { class: 'abbr' }, tile.abbr),
            h('span', { class: 'ratio' }, f.total ? `${f.covered}/${f.total}` : ''),
          ),
        );
      }),
    ),
    h(
      'ul',
      { class: 'legend', 'aria-label': t('overview.mapHint') },
      ['cov-0', 'cov-1', 'cov-2', 'cov-3', 'cov-4', 'cov-none'].map((c) =>
        h('li', null, h('span', { class: `swatch ${c}`, 'aria-hidden': 'true' }), t(`legend.${c.slice(4)}`)),
      ),
    ),
  );
}

async function runsHeadline(ctx) {
  if (ctx.identity.role === 'public') return null;
  try {
    const answer = await api('/runs', { query: { limit: 1 }, signal: ctx.signal });
    const last = items(answer)[0];
    const schedule = answer?.schedule ?? null;
    // the API works out when the schedule (SYNC_CRON in SYNC_TIMEZONE) runs next
    const next = schedule?.next_at ?? null;
    return h(
      'dl',
      { class: 'headline' },
      h('dt', null, t('overview.lastRun')),
      h(
        'dd',
        null,
        last
          ? [
              h('a', { href: `#/runs/${encodeURIComponent(last.id)}` }, scopeText(last)),
              ' ',
              runStatusBadge(last.status),
              ' ',
              dateTime(last.finished_at ?? last.started_at ?? last.created_at),
            ]
          : t('overview.noRun'),
      ),
      h('dt', null, t('overview.nextRun')),
      h('dd', { 'data-next': next ? new Date(next).toISOString() : '' }, dateTime(next)),
    );
  } catch {
    return null; // the overview stays useful without the run line
  }
}

/** The national overview: tile map + per-province table, last and next run. */
export async function renderOverview(ctx) {
  const [regionsAnswer, headline] = await Promise.all([
    api('/regions', { query: { level: 'province' }, signal: ctx.signal }),
    runsHeadline(ctx),
  ]);
  const provinces = items(regionsAnswer)
    .filter((r) => r.level === 'province' || (typeof r.code === 'string' && r.code.length === 2))
    .map((r) => ({ ...r, f: figures({ ...r, level: 'province' }) }));
  const totals = {
    code: '',
    name: t('overview.national'),
    f: sumFigures(provinces.map((p) => p.f)),
  };
  return h(
    'div',
    { class: 'page overview' },
    h('h1', null, t('overview.title')),
    headline,
    h(
      'div',
      { class: 'split' },
      h(
        'section',
        { class: 'map-panel' },
        h('h2', null, t('overview.map')),
        h('p', { class: 'hint' }, t('overview.mapHint')),
        tileMap(provinces),
      ),
      h(
        'section',
        { class: 'table-panel' },
        h('h2', null, t('overview.table')),
        table(
          figureColumns(t('col.province'), (r) => `#/province/${encodeURIComponent(r.code)}`),
          [...provinces, totals],
          {
            caption: t('overview.table'),
            rowProps: (r) => (r.code ? { 'data-code': r.code } : { class: 'total' }),
          },
        ),
      ),
    ),
  );
}

/** Adds up the figures of several regions (for the national line). */
export function sumFigures(list) {
  const add = (get) => {
    const vals = list.map(get).filter((v) => typeof v === 'number');
    return vals.length ? vals.reduce((a, b) => a + b, 0) : null;
  };
  const officers = {};
  for (const level of LEVELS) officers[level] = add((f) => f.officers[level]);
  return {
    officers,
    approved: add((f) => f.approved),
    need: add((f) => f.need),
    shortfall: add((f) => f.shortfall),
    covered: add((f) => f.covered),
    total: add((f) => f.total),
    staleSources: add((f) => f.staleSources),
    openFindings: add((f) => f.openFindings),
  };
}
