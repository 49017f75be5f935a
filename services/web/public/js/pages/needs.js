import { h, replace, table } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { LEVELS, date, num } from '../format.js';
import { barChart } from '../chart.js';
import { badge, errorBox, field } from '../ui.js';
import { provinces, regionNames } from './common.js';

/**
 * "Kebutuhan & formasi" (needs-planning-v1.md § Interface): `GET /needs` for the nation
 * (`#/needs`), a province (`#/needs/16`) or a regency/city (`#/needs/16.71`), optional `?year=`.
 * Per level (R16–R18): formation, declared and computed need, filled, available formation,
 * retiring within 1/3/5 years and the projected shortfall, as a table and a chart per level; then
 * the scope's provinces or regencies/cities with their all-levels figures, empty ones included.
 * The parameter version the computed needs used, and whether it is confirmed, is always shown.
 *
 * `GET /needs` is public; the console still keeps a province key to its own province, as the
 * findings page does: the nation and other provinces are not offered to it.
 */

/** The bars of each level's chart, in order: series key and how to read it from a NeedsLevel. */
export const NEEDS_SERIES = [
  { key: 'formasi', value: (l) => l.formasi },
  { key: 'declared', value: (l) => l.kebutuhan_declared },
  { key: 'computed', value: (l) => l.kebutuhan_computed },
  { key: 'filled', value: (l) => l.terisi },
  { key: 'retiring5', value: (l) => l.retiring?.['5'] },
];

const HORIZONS = ['1', '3', '5'];

/**
 * What `#/needs/<code>` asks for: `{ kind: 'nation' | 'province' | 'region', code, province }`,
 * or `{ kind: 'invalid', code }`. A province key asking for the nation gets its own province;
 * asking for another province (or a region in one) gets `refused: true`.
 */
export function needsScope(code, identity) {
  const own = identity?.role === 'province' ? (identity.province ?? null) : null;
  let scope;
  if (!code) scope = { kind: 'nation', code: null, province: null };
  else if (/^\d{2}$/.test(code)) scope = { kind: 'province', code, province: code };
  else if (/^\d{2}\.\d{2}$/.test(code)) scope = { kind: 'region', code, province: code.slice(0, 2) };
  else return { kind: 'invalid', code, province: null };
  if (identity?.role !== 'province') return scope;
  if (scope.kind === 'nation')
    return own ? { kind: 'province', code: own, province: own } : { ...scope, refused: true };
  return scope.province === own ? scope : { ...scope, refused: true };
}

/** The page's own hash for a scope code (none: the nation) and an optional year. */
export function needsHash(code, year) {
  const path = code ? `#/needs/${encodeURIComponent(code)}` : '#/needs';
  return year ? `${path}?year=${encodeURIComponent(year)}` : path;
}

/** Whether a row has nothing at all: no formation, no need of either kind, no officer. */
export function hasNoData(fig) {
  return (
    fig.formasi === null &&
    fig.kebutuhan_declared === null &&
    fig.kebutuhan_computed === null &&
    (fig.terisi ?? 0) === 0 &&
    HORIZONS.every((n) => (fig.retiring?.[n] ?? 0) === 0)
  );
}

function levelName(level) {
  return t(`needs.level.${level}`);
}

/** The computed need, or the words saying the region sent no workload (R16). */
function computedText(v) {
  return typeof v === 'number' ? num(v) : t('needs.noWorkload');
}

function computedCell(v) {
  return typeof v === 'number' ? num(v) : h('span', { class: 'no-workload' }, t('needs.noWorkload'));
}

/** The figure columns shared by the level table and the children table (NeedsLevel fields). */
function figureColumns(get) {
  return [
    { label: t('needs.col.formasi'), value: (r) => num(get(r).formasi), num: true },
    { label: t('needs.col.declared'), value: (r) => num(get(r).kebutuhan_declared), num: true },
    { label: t('needs.col.computed'), value: (r) => computedCell(get(r).kebutuhan_computed), num: true },
    { label: t('needs.col.filled'), value: (r) => num(get(r).terisi), num: true },
    { label: t('needs.col.available'), value: (r) => num(get(r).available_formation), num: true },
    ...HORIZONS.map((n) => ({
      label: t('needs.col.retiring', { n }),
      value: (r) => num(get(r).retiring?.[n]),
      num: true,
    })),
    ...HORIZONS.map((n) => ({
      label: t('needs.col.shortfall', { n }),
      value: (r) => num(get(r).projected_shortfall?.[n]),
      num: true,
    })),
  ];
}

/** The badge and lines of the parameter set the computed needs used (always on the page). */
function parametersPanel(answer) {
  const p = answer.parameters;
  const status = p?.status ?? 'none';
  const others = [
    ...new Set(
      [answer.total, ...(answer.data ?? [])]
        .map((r) => r?.parameter_version)
        .filter((v) => typeof v === 'string' && v !== p?.version),
    ),
  ];
  return h(
    'section',
    { class: `card parameters status-${status}`, 'aria-label': t('needs.params.label'), 'data-status': status },
    h(
      'p',
      { class: 'parameters-head' },
      status === 'unconfirmed'
        ? badge(t('needs.params.unconfirmed'), 'warn')
        : status === 'confirmed'
          ? badge(t('needs.params.confirmed'), 'ok')
          : badge(t('needs.params.none'), 'neutral'),
      ' ',
      p
        ? h(
            'span',
            { class: 'version', 'data-version': p.version },
            t('needs.params.version', { version: p.version, validFrom: date(p.valid_from) }),
          )
        : null,
    ),
    p?.source ? h('p', { class: 'source muted' }, t('needs.params.source', { source: p.source })) : null,
    status === 'unconfirmed' ? h('p', { class: 'hint' }, t('needs.params.unconfirmedHint')) : null,
    status === 'none' ? h('p', { class: 'hint' }, t('needs.params.noneHint')) : null,
    others.length ? h('p', { class: 'hint others' }, t('needs.params.others', { versions: others.join(', ') })) : null,
    h(
      'p',
      { class: 'year-line', 'data-year': answer.year, 'data-as-of': answer.as_of ?? '' },
      t('needs.yearLine', { year: answer.year }),
      ' · ',
      answer.as_of ? t('needs.asOf', { date: date(answer.as_of) }) : t('needs.noAsOf'),
    ),
  );
}

/** The scope selectors: year, province (a province key: its own only), regency/city. */
function filtersForm(ctx, scope, answer, provinceList, names) {
  const mayChooseNation = ctx.identity.role !== 'province';
  const offered = mayChooseNation ? provinceList : provinceList.filter((p) => p.code === scope.province);
  const province = h(
    'select',
    { name: 'province' },
    mayChooseNation ? h('option', { value: '' }, t('needs.wholeNation')) : null,
    offered.map((p) => h('option', { value: p.code, selected: p.code === scope.province }, `${p.name} (${p.code})`)),
  );
  const region = h('select', { name: 'region' });
  const fillRegions = (provinceCode) => {
    const codes = [...names.keys()].filter((c) => provinceCode && c.startsWith(`${provinceCode}.`)).sort();
    replace(
      region,
      h('option', { value: '' }, t('needs.wholeProvince')),
      codes.map((c) => h('option', { value: c, selected: c === scope.code }, `${names.get(c)} (${c})`)),
    );
    region.disabled = !provinceCode;
  };
  fillRegions(scope.province);
  // another province: its own regencies/cities (the list above was the previous province's)
  province.addEventListener('change', () => fillRegions(province.value));
  const year = h('input', {
    type: 'number',
    name: 'year',
    min: '2000',
    max: '2100',
    step: '1',
    inputmode: 'numeric',
    value: String(answer?.year ?? ctx.query.year ?? ''),
  });
  return h(
    'form',
    {
      class: 'card filters',
      role: 'search',
      'aria-label': t('needs.filters'),
      onsubmit: (event) => {
        event.preventDefault();
        const y = /^\d{4}$/.test(year.value.trim()) ? year.value.trim() : '';
        const code = region.value && region.value.startsWith(`${province.value}.`) ? region.value : province.value;
        ctx.navigate(needsHash(code, y));
      },
    },
    h(
      'div',
      { class: 'row' },
      field(t('needs.province'), province),
      field(t('needs.region'), region),
      field(t('needs.year'), year),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('needs.show'))),
  );
}

/** Breadcrumbs up from the scope; a province key is not offered the nation. */
function crumbs(ctx, scope, provinceName, year) {
  const links = [];
  if (ctx.identity.role !== 'province' && scope.kind !== 'nation')
    links.push(h('a', { href: needsHash(null, year) }, t('needs.nation')));
  if (scope.kind === 'region') links.push(h('a', { href: needsHash(scope.province, year) }, provinceName));
  if (!links.length) return null;
  return h(
    'p',
    { class: 'crumbs' },
    links.map((a, i) => [i ? ' › ' : null, a]),
  );
}

/** One chart per level: five bars, the caption is its text alternative. */
function levelCharts(levels) {
  const legend = h(
    'ul',
    { class: 'legend chart-legend' },
    NEEDS_SERIES.map((sr) =>
      h(
        'li',
        null,
        h('span', { class: `swatch series-${sr.key}`, 'aria-hidden': 'true' }),
        t(`needs.series.${sr.key}`),
      ),
    ),
  );
  return [
    h('p', { class: 'hint' }, t('needs.chartsHint')),
    legend,
    h(
      'div',
      { class: 'charts' },
      levels.map((l) => {
        const id = `needs-chart-${l.level}`;
        const values = Object.fromEntries(
          NEEDS_SERIES.map((sr) => [
            sr.key,
            sr.key === 'computed' ? computedText(sr.value(l)) : num(sr.value(l) ?? null),
          ]),
        );
        const bars = NEEDS_SERIES.map((sr) => {
          const v = sr.value(l);
          return {
            key: sr.key,
            value: typeof v === 'number' ? v : null,
            label: t(`needs.series.${sr.key}`),
            short: t(`needs.axis.${sr.key}`),
            text: typeof v === 'number' ? num(v) : t('common.none'),
          };
        });
        return h(
          'figure',
          { class: 'chart card', 'data-level': l.level },
          barChart({
            bars,
            labelledBy: `${id}-title`,
            describedBy: `${id}-desc`,
            tickText: (v) => num(v),
          }),
          h(
            'figcaption',
            null,
            h('strong', { id: `${id}-title` }, levelName(l.level)),
            ' ',
            h('span', { id: `${id}-desc`, class: 'muted' }, t('needs.chartAlt', values)),
          ),
        );
      }),
    ),
  ];
}

/** The scope's provinces (nation) or regencies/cities (province), all-levels figures. */
function childrenTable(ctx, scope, answer) {
  const isNation = scope.kind === 'nation';
  const showVersion = (answer.data ?? []).some(
    (r) => r.parameter_version && r.parameter_version !== answer.parameters?.version,
  );
  const year = ctx.query.year;
  const nameCell = (r) => {
    const own = !isNation && r.code === scope.code;
    // the province's own agency (code "16") is part of the province's figures, not a page of its own
    const name = own || !r.code ? r.name : h('a', { href: needsHash(r.code, year) }, r.name);
    return [
      name,
      h('div', { class: 'muted' }, r.code ?? ''),
      own ? h('div', { class: 'muted' }, t('needs.provinceOffice')) : null,
      hasNoData(r.all_levels) ? badge(t('needs.noData'), 'neutral') : null,
    ];
  };
  const columns = [
    { label: isNation ? t('col.province') : t('col.region'), value: nameCell },
    ...figureColumns((r) => r.all_levels),
  ];
  if (showVersion) columns.push({ label: t('needs.col.parameters'), value: (r) => r.parameter_version ?? '' });
  const caption = isNation ? t('needs.childrenProvinces') : t('needs.childrenRegions');
  return h(
    'section',
    { class: 'children' },
    h('h2', null, caption),
    h('p', { class: 'hint' }, t('needs.childrenHint')),
    table(columns, answer.data ?? [], {
      caption,
      empty: t('common.none'),
      rowProps: (r) => ({
        'data-code': r.code ?? '',
        class: hasNoData(r.all_levels) ? 'no-data' : null,
      }),
    }),
  );
}

export async function renderNeeds(ctx) {
  const scope = needsScope(ctx.parts[1] ?? '', ctx.identity);
  const year = /^\d{4}$/.test(ctx.query.year ?? '') ? ctx.query.year : undefined;
  const [provinceList, names] = await Promise.all([provinces(ctx.signal).catch(() => []), regionNames(ctx.signal)]);
  const provinceName = provinceList.find((p) => p.code === scope.province)?.name ?? scope.province ?? '';

  if (scope.kind === 'invalid' || scope.refused) {
    const own = ctx.identity.role === 'province' ? ctx.identity.province : null;
    return h(
      'div',
      { class: 'page needs', 'data-scope': scope.kind, 'data-code': scope.code ?? '', 'data-refused': true },
      h('h1', null, t('needs.title')),
      scope.kind === 'invalid'
        ? h('div', { class: 'alert alert-error', role: 'alert' }, t('needs.badCode', { code: scope.code }))
        : h(
            'div',
            { class: 'alert alert-error', role: 'alert', 'data-status': 403 },
            t('common.forbidden'),
            ' ',
            t('needs.refused'),
          ),
      own ? h('p', null, h('a', { href: needsHash(own, year) }, t('needs.own'))) : null,
    );
  }

  const query = { year };
  if (scope.kind === 'province') query.province = scope.code;
  if (scope.kind === 'region') query.region = scope.code;
  let answer;
  try {
    answer = await api('/needs', { query, signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    return h(
      'div',
      { class: 'page needs', 'data-scope': scope.kind, 'data-code': scope.code ?? '' },
      h('h1', null, t('needs.title')),
      filtersForm(ctx, scope, null, provinceList, names),
      errorBox(e),
    );
  }
  const total = answer.total;
  const levelRows = [
    ...LEVELS.map((level) => total.levels.find((l) => l.level === level)).filter(Boolean),
    { ...total.all_levels, level: null },
  ];
  const levels = levelRows.filter((l) => l.level);
  return h(
    'div',
    { class: 'page needs', 'data-scope': scope.kind, 'data-code': scope.code ?? '' },
    crumbs(ctx, scope, provinceName, year),
    h('h1', null, t('needs.titleOf', { name: total.name })),
    parametersPanel(answer),
    filtersForm(ctx, scope, answer, provinceList, names),
    h(
      'section',
      { class: 'levels' },
      h('h2', null, t('needs.levels')),
      table(
        [
          { label: t('needs.col.level'), value: (l) => (l.level ? levelName(l.level) : t('needs.allLevels')) },
          ...figureColumns((l) => l),
        ],
        levelRows,
        {
          caption: t('needs.levelsCaption', { name: total.name, year: answer.year }),
          rowProps: (l) => (l.level ? { 'data-level': l.level } : { class: 'total', 'data-level': 'all' }),
        },
      ),
    ),
    h('section', { class: 'level-charts' }, h('h2', null, t('needs.charts')), levelCharts(levels)),
    scope.kind === 'region' ? null : childrenTable(ctx, scope, answer),
  );
}
