import { h, replace, table } from '../dom.js';
import { describeCode, t } from '../i18n.js';
import { api, items } from '../api.js';
import { coverageText, dateTime, figures } from '../format.js';
import { errorBox, fetchStatusBadge, field, loading, notice, runProgress, severityBadge, badge } from '../ui.js';
import { figureColumns } from './overview.js';
import { regionLabel } from './common.js';

/** Whether the signed-in key may act on (re-sync, upload for) this province. */
export function mayActOn(identity, provinceCode) {
  return identity.role === 'admin' || (identity.role === 'province' && identity.province === provinceCode);
}

/** The regencies/cities of a `GET /regions/{code}` answer, whatever the API calls them. */
function childrenOf(region) {
  return items(region.regencies ?? region.regions ?? region.children ?? []);
}

/** A section that loads on its own, so one refused part (403) does not hide the others. */
function lazySection(title, load) {
  const body = h('div', null, loading());
  const section = h('section', null, h('h2', null, title), body);
  void load().then(
    (node) => replace(body, node),
    (e) => replace(body, errorBox(e)),
  );
  return section;
}

/**
 * A province: its regencies/cities with the same figures as the overview, a re-sync form with
 * live run progress, the sources with their last fetch outcome, and the open findings.
 */
export async function renderProvince(ctx) {
  const code = ctx.parts[1] ?? '';
  const region = await api(`/regions/${encodeURIComponent(code)}`, { signal: ctx.signal });
  const regencies = childrenOf(region).map((r) => ({ ...r, f: figures({ ...r, level: 'regency' }) }));
  const pf = figures({ ...region, level: 'province' });
  const covered = pf.covered ?? regencies.filter((r) => r.f.covered === 1).length;
  const total = pf.total ?? regencies.length;
  const canAct = mayActOn(ctx.identity, code);
  const names = new Map([[region.code, region.name], ...regencies.map((r) => [r.code, r.name])]);
  const seesDetails = ctx.identity.role !== 'public';

  const resync = canAct ? resyncForm(ctx, region, regencies) : null;
  const columns = figureColumns(t('col.region'), (r) => `#/register?region=${encodeURIComponent(r.code)}`);
  if (canAct) {
    columns.push({
      label: t('col.actions'),
      value: (r) =>
        h(
          'button',
          {
            type: 'button',
            class: 'small',
            'aria-label': t('resync.rowLabel', { name: r.name }),
            onclick: () => resync.choose(r.code),
          },
          t('resync.row'),
        ),
    });
  }

  return h(
    'div',
    { class: 'page province', 'data-code': code },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, t('nav.overview'))),
    h('h1', null, t('province.title', { name: region.name })),
    h(
      'p',
      { class: 'coverage', 'data-covered': covered, 'data-total': total },
      h('strong', null, coverageText(covered, total)),
      ' — ',
      t('province.coverage', { covered, total }),
    ),
    h(
      'p',
      { class: 'links' },
      h('a', { href: `#/register?province=${encodeURIComponent(code)}` }, t('province.register')),
      ' · ',
      h('a', { href: `#/needs/${encodeURIComponent(code)}` }, t('province.needs')),
      seesDetails ? ' · ' : null,
      seesDetails
        ? h('a', { href: `#/findings?province=${encodeURIComponent(code)}&status=open` }, t('province.allFindings'))
        : null,
    ),
    resync ? resync.node : null,
    h(
      'section',
      null,
      h('h2', null, t('province.regions')),
      table(columns, regencies, {
        caption: t('province.regions'),
        rowProps: (r) => ({ 'data-code': r.code }),
      }),
    ),
    seesDetails ? lazySection(t('province.sources'), () => sourcesTable(ctx, code, canAct, names)) : null,
    seesDetails ? lazySection(t('province.findings'), () => findingsList(ctx, code, names)) : null,
  );
}

function resyncForm(ctx, region, regencies) {
  const select = h(
    'select',
    { name: 'scope' },
    h('option', { value: '' }, t('resync.wholeProvince', { name: region.name })),
    regencies.map((r) => h('option', { value: r.code }, `${r.name} (${r.code})`)),
  );
  const reason = h('input', { type: 'text', name: 'reason', value: t('resync.defaultReason'), maxlength: '500' });
  const submit = h('button', { type: 'submit' }, t('resync.submit'));
  const out = h('div', { class: 'resync-output' });
  const node = h(
    'form',
    {
      class: 'card resync',
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        const scope = select.value ? { region: select.value } : { province: region.code };
        try {
          const answer = await api('/sync', {
            method: 'POST',
            body: { scope, reason: reason.value.trim() || t('resync.defaultReason') },
            signal: ctx.signal,
          });
          const runId = answer.run_id ?? answer.id ?? answer.run?.id;
          replace(
            out,
            notice(t('resync.started', { id: runId })),
            runProgress(runId, ctx.signal, {
              onDone: () => {
                submit.disabled = false;
                // the figures above are from before the run: offer to read them again
                out.append(
                  h(
                    'button',
                    { type: 'button', class: 'secondary refresh', onclick: () => ctx.rerender() },
                    t('province.refresh'),
                  ),
                );
              },
            }),
          );
        } catch (e) {
          submit.disabled = false;
          replace(out, errorBox(e));
        }
      },
    },
    h('h2', null, t('resync.title')),
    h('div', { class: 'row' }, field(t('resync.scope'), select), field(t('resync.reason'), reason)),
    h('div', { class: 'actions' }, submit),
    out,
  );
  return {
    node,
    choose(code) {
      select.value = code;
      node.scrollIntoView({ block: 'nearest' });
      submit.focus();
    },
  };
}

async function sourcesTable(ctx, code, canAct, names) {
  const sources = items(await api('/sources', { query: { province: code }, signal: ctx.signal }));
  return table(
    [
      { label: t('col.source'), value: (s) => s.id },
      { label: t('col.agency'), value: (s) => s.agency },
      { label: t('col.region'), value: (s) => regionLabel(names, s.region_code) },
      { label: t('col.transport'), value: (s) => s.transport },
      {
        label: t('col.lastFetch'),
        value: (s) => {
          const last = s.last_fetch ?? null;
          return [
            fetchStatusBadge(last?.status ?? null),
            ' ',
            last ? dateTime(last.finished_at ?? last.started_at) : '',
            last?.error_code ? ` ${last.error_code}` : '',
            last?.error_message ? `: ${last.error_message}` : '',
          ];
        },
      },
      {
        label: t('col.lastSuccess'),
        value: (s) => [dateTime(s.last_success_at), ' ', s.stale ? badge(t('common.stale'), 'bad') : null],
      },
      {
        label: t('col.actions'),
        value: (s) =>
          canAct && s.transport === 'upload'
            ? h(
                'a',
                {
                  href: `#/upload/${encodeURIComponent(s.id)}`,
                  'aria-label': t('upload.linkLabel', { source: s.agency ?? s.id }),
                },
                t('upload.link'),
              )
            : '',
      },
    ],
    sources,
    { caption: t('province.sources'), empty: t('common.none'), rowProps: (s) => ({ 'data-source': s.id }) },
  );
}

async function findingsList(ctx, code, names) {
  const findings = items(
    await api('/findings', { query: { province: code, status: 'open', limit: 20 }, signal: ctx.signal }),
  );
  return table(
    [
      { label: t('col.severity'), value: (f) => severityBadge(f.severity) },
      { label: t('col.rule'), value: (f) => describeCode(f.code) },
      { label: t('col.region'), value: (f) => regionLabel(names, f.region_code) },
      { label: t('col.message'), value: (f) => f.message ?? '' },
      { label: t('col.seen'), value: (f) => dateTime(f.last_seen_at) },
    ],
    findings,
    { caption: t('province.findings'), empty: t('findings.empty') },
  );
}
