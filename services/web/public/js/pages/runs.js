import { h, replace, table } from '../dom.js';
import { t } from '../i18n.js';
import { api, items } from '../api.js';
import { countsText, dateTime, scopeText } from '../format.js';
import { errorBox, runProgress, runStatusBadge, runSummary } from '../ui.js';

/** Run history: scope, trigger, who, status, counts, version published, timings. */
export async function renderRuns(ctx) {
  const rows = [];
  let cursor = null;
  const results = h('div');
  const load = async () => {
    const answer = await api('/runs', { query: { limit: 50, cursor }, signal: ctx.signal });
    rows.push(...items(answer));
    cursor = answer?.next_cursor ?? null;
    replace(
      results,
      table(
        [
          {
            label: t('col.run'),
            value: (r) =>
              h(
                'a',
                { href: `#/runs/${encodeURIComponent(r.id)}`, 'aria-label': `${t('run.open')} ${r.id}` },
                shortId(r.id),
              ),
          },
          { label: t('col.scope'), value: (r) => scopeText(r) },
          { label: t('col.trigger'), value: (r) => t(`run.trigger.${r.trigger}`) },
          { label: t('col.by'), value: (r) => r.requested_by ?? t('common.none') },
          { label: t('col.status'), value: (r) => runStatusBadge(r.status) },
          { label: t('col.counts'), value: (r) => countsText(r.counts) },
          {
            label: t('col.version'),
            value: (r) =>
              r.version_published
                ? h('a', { href: `#/versions/${encodeURIComponent(r.version_published)}` }, String(r.version_published))
                : t('common.none'),
            num: true,
          },
          { label: t('col.started'), value: (r) => dateTime(r.started_at ?? r.created_at) },
          { label: t('col.finished'), value: (r) => dateTime(r.finished_at) },
        ],
        rows,
        { caption: t('runs.title'), empty: t('runs.empty'), rowProps: (r) => ({ 'data-run': r.id }) },
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
  return h('div', { class: 'page runs' }, h('h1', null, t('runs.title')), results);
}

function shortId(id) {
  const s = String(id);
  return s.length > 12 ? `${s.slice(0, 8)}…` : s;
}

/** One run with per-source outcomes; live while it is queued or running. */
export async function renderRun(ctx) {
  const id = ctx.parts[1];
  const run = await api(`/runs/${encodeURIComponent(id)}`, { signal: ctx.signal });
  const live = run.status === 'queued' || run.status === 'running';
  return h(
    'div',
    { class: 'page run', 'data-run': id },
    h('p', { class: 'crumbs' }, h('a', { href: '#/runs' }, t('runs.title'))),
    h('h1', null, t('run.detail', { id: shortId(id) })),
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'ID'),
      h('dd', null, h('code', null, String(run.id))),
      h('dt', null, t('col.scope')),
      h('dd', null, scopeText(run)),
      h('dt', null, t('col.trigger')),
      h('dd', null, t(`run.trigger.${run.trigger}`)),
      h('dt', null, t('col.by')),
      h('dd', null, run.requested_by ?? t('common.none')),
      h('dt', null, t('resync.reason')),
      h('dd', null, run.reason ?? t('common.none')),
      h('dt', null, t('col.started')),
      h('dd', null, dateTime(run.started_at ?? run.created_at)),
      h('dt', null, t('col.finished')),
      h('dd', null, dateTime(run.finished_at)),
    ),
    live ? runProgress(id, ctx.signal) : runSummary(run),
  );
}
