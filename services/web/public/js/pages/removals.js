import { h, replace, table } from '../dom.js';
import { t } from '../i18n.js';
import { api, items } from '../api.js';
import { dateTime, num } from '../format.js';
import { errorBox, field, notice, runProgress } from '../ui.js';
import { regionLabel, regionNames } from './common.js';

function removalCount(r) {
  if (typeof r.count === 'number') return r.count;
  if (Array.isArray(r.nips)) return r.nips.length;
  return null;
}

/**
 * Held mass removals (R8, `GET /held-removals`) with a two-step confirm for admins (a reason,
 * then "Yes, remove N officers"): `POST /sources/{id}/confirm-removal`, whose run is then shown live.
 */
export async function renderRemovals(ctx) {
  const query = ctx.identity.role === 'province' ? { province: ctx.identity.province } : {};
  const [answer, names] = await Promise.all([
    api('/held-removals', { query, signal: ctx.signal }),
    regionNames(ctx.signal),
  ]);
  const rows = items(answer);
  const isAdmin = ctx.identity.role === 'admin';
  return h(
    'div',
    { class: 'page removals' },
    h('h1', null, t('removals.title')),
    h('p', null, t('removals.intro')),
    isAdmin ? null : h('p', { class: 'hint' }, t('removals.adminOnly')),
    table(
      [
        { label: t('col.source'), value: (r) => [r.agency ?? '', h('div', { class: 'muted' }, r.source_id)] },
        { label: t('col.region'), value: (r) => regionLabel(names, r.region_code) },
        { label: t('col.count'), value: (r) => num(removalCount(r)), num: true },
        { label: t('col.activeBefore'), value: (r) => num(r.active_before), num: true },
        { label: t('col.heldAt'), value: (r) => dateTime(r.created_at) },
        {
          label: t('col.run'),
          value: (r) =>
            r.run_id ? h('a', { href: `#/runs/${encodeURIComponent(r.run_id)}` }, String(r.run_id).slice(0, 8)) : '',
        },
        { label: t('col.actions'), value: (r) => (isAdmin ? confirmControl(ctx, r) : '') },
      ],
      rows,
      { caption: t('removals.title'), empty: t('removals.empty'), rowProps: (r) => ({ 'data-source': r.source_id }) },
    ),
  );
}

function confirmControl(ctx, removal) {
  const wrap = h('div');
  const source = removal.agency ?? removal.source_id;
  const first = h(
    'button',
    {
      type: 'button',
      class: 'small danger',
      'aria-label': t('removals.confirmLabel', { source }),
      onclick: () => {
        const reason = h('input', {
          type: 'text',
          name: 'reason',
          value: t('removals.defaultReason'),
          maxlength: '1000',
        });
        const message = h('div');
        const really = h(
          'button',
          {
            type: 'button',
            class: 'small danger',
            onclick: async () => {
              really.disabled = true;
              try {
                const answer = await api(`/sources/${encodeURIComponent(removal.source_id)}/confirm-removal`, {
                  method: 'POST',
                  body: { reason: reason.value.trim() || t('removals.defaultReason') },
                  signal: ctx.signal,
                });
                replace(
                  wrap,
                  notice(t('removals.done'), 'ok'),
                  answer?.run_id ? runProgress(answer.run_id, ctx.signal) : null,
                );
              } catch (e) {
                really.disabled = false;
                replace(message, errorBox(e));
              }
            },
          },
          t('removals.really', { n: num(removalCount(removal)), source }),
        );
        replace(
          wrap,
          field(t('resync.reason'), reason),
          h(
            'div',
            { class: 'actions' },
            really,
            h(
              'button',
              { type: 'button', class: 'small secondary', onclick: () => replace(wrap, first) },
              t('common.cancel'),
            ),
          ),
          message,
        );
        really.focus();
      },
    },
    t('removals.confirm'),
  );
  wrap.append(first);
  return wrap;
}
