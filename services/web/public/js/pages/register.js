/* global document, setTimeout */
import { h, replace, table } from '../dom.js';
import { t } from '../i18n.js';
import { api, items } from '../api.js';
import { LEVELS } from '../format.js';
import { errorBox, field } from '../ui.js';
import { formQuery, officerStatuses, provinceSelect, provinces, regionLabel, regionNames } from './common.js';

/**
 * The register: search with filters (province, region, level, status, name/NIP), paged by
 * cursor, and export buttons (CSV, JSON, XLSX) for the same filters. The public role sees no
 * personal data because the API leaves it out.
 */
export async function renderRegister(ctx) {
  const q = { ...ctx.query };
  const [list, names, statuses] = await Promise.all([
    provinces(ctx.signal),
    regionNames(ctx.signal),
    officerStatuses(ctx.signal),
  ]);
  const level = h(
    'select',
    { name: 'level' },
    h('option', { value: '' }, t('common.all')),
    LEVELS.map((l) => h('option', { value: l, selected: l === q.level }, t(`col.level.${l}`))),
  );
  const status = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, t('register.statusAll')),
    statuses.map((s) => h('option', { value: s, selected: s === q.status }, t(`status.${s}`))),
  );
  const provinceField =
    ctx.identity.role === 'province'
      ? // a province officer may still look at another province's public figures: allow all
        provinceSelect(list, q.province, { role: 'admin' })
      : provinceSelect(list, q.province, ctx.identity);
  const filters = h(
    'form',
    {
      class: 'card filters',
      role: 'search',
      'aria-label': t('register.filters'),
      onsubmit: (event) => {
        event.preventDefault();
        ctx.navigate(`#/register${formQuery(event.currentTarget)}`);
      },
    },
    h(
      'div',
      { class: 'row' },
      field(t('register.q'), h('input', { type: 'search', name: 'q', value: q.q ?? '' })),
      field(t('findings.province'), provinceField),
      field(
        t('findings.region'),
        h('input', { type: 'text', name: 'region', value: q.region ?? '', placeholder: '16.71' }),
      ),
      field(t('col.level'), level),
      field(t('col.status'), status),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, t('register.search')),
      h('a', { href: '#/register', class: 'button secondary' }, t('common.reset')),
    ),
  );

  const exportMessage = h('div', { 'aria-live': 'polite' });
  const exports = h(
    'div',
    { class: 'exports' },
    ['csv', 'json', 'xlsx'].map((format) =>
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          'data-format': format,
          onclick: () => download(ctx, format, q, exportMessage),
        },
        `${t('register.export')} ${format.toUpperCase()}`,
      ),
    ),
    exportMessage,
  );

  const results = h('div');
  const state = { rows: [], cursor: null };
  const load = async () => {
    const answer = await api('/officers', {
      query: {
        province: q.province,
        region: q.region,
        level: q.level,
        status: q.status,
        q: q.q,
        cursor: state.cursor,
        limit: 50,
      },
      signal: ctx.signal,
    });
    state.rows.push(...items(answer));
    state.cursor = answer?.next_cursor ?? null;
    replace(
      results,
      officersTable(state.rows, names),
      state.cursor
        ? h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => load().catch((e) => results.append(errorBox(e))) },
            t('common.more'),
          )
        : null,
    );
  };
  let refused = null;
  try {
    await load();
  } catch (e) {
    refused = errorBox(e);
  }
  return h(
    'div',
    { class: 'page register' },
    h('h1', null, t('register.title')),
    filters,
    refused ?? [exports, results],
  );
}

function officersTable(rows, names) {
  const hasNip = rows.some((r) => r.nip);
  return table(
    [
      { label: t('col.name'), value: (o) => o.name ?? o.nama ?? '' },
      ...(hasNip
        ? [
            {
              label: t('col.nip'),
              value: (o) =>
                o.nip
                  ? h(
                      'a',
                      {
                        href: `#/officer/${encodeURIComponent(o.nip)}`,
                        'aria-label': t('officer.open', { name: o.name }),
                      },
                      o.nip,
                    )
                  : '',
            },
          ]
        : []),
      { label: t('col.level'), value: (o) => (o.level ? t(`col.level.${o.level}`) : '') },
      { label: t('col.grade'), value: (o) => o.grade ?? '' },
      { label: t('col.unit'), value: (o) => o.unit ?? '' },
      { label: t('col.region'), value: (o) => regionLabel(names, o.region_code) },
      { label: t('col.status'), value: (o) => (o.status ? t(`status.${o.status}`) : '') },
    ],
    rows,
    {
      caption: t('register.title'),
      empty: t('register.empty'),
      rowProps: (o) => (o.nip ? { 'data-nip': o.nip } : null),
    },
  );
}

/** Export with the key in the Authorization header: fetch the file, then hand it to the browser. */
async function download(ctx, format, q, message) {
  replace(message, h('p', { role: 'status' }, t('register.exporting')));
  try {
    const res = await api('/export', {
      query: { format, province: q.province, region: q.region },
      raw: true,
      signal: ctx.signal,
    });
    const blob = await res.blob();
    const disposition = res.headers.get('content-disposition') ?? '';
    const match = /filename="?([^";]+)"?/i.exec(disposition);
    const name = match ? match[1] : `register.${format}`;
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    replace(message);
  } catch (e) {
    replace(message, errorBox(e));
  }
}
