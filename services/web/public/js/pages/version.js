import { h, replace, table } from '../dom.js';
import { describeReason, t } from '../i18n.js';
import { api, items } from '../api.js';
import { countsText, dateTime } from '../format.js';
import { errorBox } from '../ui.js';
import { regionLabel, regionNames } from './common.js';

/**
 * One published version (R14) and its diff: officers added, removed, changed (which fields), with
 * the reason. NIPs show only within the caller's province (the API leaves them out elsewhere).
 */
export async function renderVersion(ctx) {
  const version = ctx.parts[1] ?? '';
  const [publication, names] = await Promise.all([
    api(`/publications/${encodeURIComponent(version)}`, { signal: ctx.signal }),
    regionNames(ctx.signal),
  ]);
  const rows = [];
  let cursor = null;
  const results = h('div');
  const load = async () => {
    const answer = await api(`/publications/${encodeURIComponent(version)}/diff`, {
      query: { cursor, limit: 200 },
      signal: ctx.signal,
    });
    rows.push(...items(answer));
    cursor = answer?.next_cursor ?? null;
    replace(
      results,
      table(
        [
          { label: t('officer.change'), value: (c) => t(`officer.change.${c.change}`) },
          {
            label: t('col.nip'),
            value: (c) =>
              c.nip ? h('a', { href: `#/officer/${encodeURIComponent(c.nip)}` }, c.nip) : t('common.none'),
          },
          { label: t('col.region'), value: (c) => regionLabel(names, c.region_code) },
          { label: t('col.source'), value: (c) => c.source_id ?? '' },
          { label: t('officer.fields'), value: (c) => (c.fields ?? []).join(', ') },
          { label: t('col.reasons'), value: (c) => describeReason(c.reason) },
        ],
        rows,
        { caption: t('version.diff'), empty: t('common.none') },
      ),
      cursor
        ? h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => load().catch((e) => results.append(errorBox(e))) },
            t('common.more'),
          )
        : null,
    );
  };
  await load();
  return h(
    'div',
    { class: 'page version', 'data-version': version },
    h('p', { class: 'crumbs' }, h('a', { href: '#/runs' }, t('runs.title'))),
    h('h1', null, t('version.title', { version })),
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, t('version.publishedAt')),
      h('dd', null, dateTime(publication.published_at)),
      h('dt', null, t('version.asOf')),
      h('dd', null, publication.as_of ?? ''),
      h('dt', null, t('col.run')),
      h(
        'dd',
        null,
        publication.run_id
          ? h('a', { href: `#/runs/${encodeURIComponent(publication.run_id)}` }, publication.run_id)
          : '',
      ),
      h('dt', null, t('col.counts')),
      h('dd', null, countsText(publication.counts)),
    ),
    h('h2', null, t('version.diff')),
    results,
  );
}
