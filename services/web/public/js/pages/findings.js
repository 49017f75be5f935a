import { h, replace, table } from '../dom.js';
import { describeCode, t } from '../i18n.js';
import { api, items } from '../api.js';
import { FINDING_CODES, dateTime } from '../format.js';
import { badge, errorBox, field, severityBadge } from '../ui.js';
import { formQuery, provinceSelect, provinces, regionLabel, regionNames } from './common.js';

const STATUSES = ['open', 'acknowledged', 'resolved'];

function statusBadge(status) {
  return badge(t(`findings.status.${status}`), { open: 'bad', acknowledged: 'warn', resolved: 'ok' }[status]);
}

/**
 * Findings with filters (province, region, rule, status) and acknowledge-with-note. A province
 * key only ever asks for its own province.
 */
export async function renderFindings(ctx) {
  const q = { ...ctx.query };
  if (ctx.identity.role === 'province') q.province = ctx.identity.province;
  const [list, names] = await Promise.all([provinces(ctx.signal), regionNames(ctx.signal)]);

  const region = h('input', {
    type: 'text',
    name: 'region',
    value: q.region ?? '',
    placeholder: '16.71',
    inputmode: 'decimal',
  });
  const rule = h(
    'select',
    { name: 'rule' },
    h('option', { value: '' }, t('common.all')),
    FINDING_CODES.map((c) => h('option', { value: c, selected: c === q.rule }, describeCode(c))),
  );
  const status = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, t('common.all')),
    STATUSES.map((s) => h('option', { value: s, selected: s === q.status }, t(`findings.status.${s}`))),
  );
  const filters = h(
    'form',
    {
      class: 'card filters',
      role: 'search',
      'aria-label': t('findings.filters'),
      onsubmit: (event) => {
        event.preventDefault();
        ctx.navigate(`#/findings${formQuery(event.currentTarget)}`);
      },
    },
    h(
      'div',
      { class: 'row' },
      field(t('findings.province'), provinceSelect(list, q.province, ctx.identity)),
      field(t('findings.region'), region),
      field(t('findings.rule'), rule),
      field(t('findings.status'), status),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, t('common.apply')),
      h('a', { href: '#/findings', class: 'button secondary' }, t('common.reset')),
    ),
  );

  const results = h('div');
  const state = { rows: [], cursor: null };
  const load = async () => {
    const answer = await api('/findings', {
      query: {
        province: q.province,
        region: q.region,
        rule: q.rule,
        status: q.status,
        cursor: state.cursor,
      },
      signal: ctx.signal,
    });
    state.rows.push(...items(answer));
    state.cursor = answer?.next_cursor ?? null;
    draw();
  };
  const draw = () => {
    replace(
      results,
      findingsTable(ctx, state.rows, draw, names),
      state.cursor
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: () => load().catch((e) => results.append(errorBox(e))),
            },
            t('common.more'),
          )
        : null,
    );
  };
  await load();

  return h('div', { class: 'page findings' }, h('h1', null, t('findings.title')), filters, results);
}

function findingsTable(ctx, rows, redraw, names) {
  return table(
    [
      { label: t('col.severity'), value: (f) => severityBadge(f.severity) },
      { label: t('col.rule'), value: (f) => [describeCode(f.code), ' ', h('code', null, f.code)] },
      { label: t('col.region'), value: (f) => regionLabel(names, f.region_code ?? f.province_code) },
      { label: t('col.source'), value: (f) => f.source_id ?? '' },
      {
        label: t('col.message'),
        value: (f) => [
          f.message ?? '',
          f.nip ? h('div', { class: 'muted' }, `NIP ${f.nip}`) : null,
          f.row ? h('div', { class: 'muted' }, `${t('col.row')} ${f.row}`) : null,
        ],
      },
      { label: t('col.seen'), value: (f) => dateTime(f.last_seen_at ?? f.first_seen_at) },
      {
        label: t('col.status'),
        value: (f) => [
          statusBadge(f.status),
          f.status === 'acknowledged' && (f.ack_note || f.acknowledged_by)
            ? h(
                'div',
                { class: 'muted' },
                t('findings.ackedBy', { by: f.acknowledged_by ?? '', note: f.ack_note ?? '' }),
              )
            : null,
        ],
      },
      {
        label: t('col.actions'),
        value: (f) => (f.status === 'open' && ctx.identity.role !== 'public' ? ackControl(ctx, f, redraw) : ''),
      },
    ],
    rows,
    { caption: t('findings.title'), empty: t('findings.empty'), rowProps: (f) => ({ 'data-finding': f.id }) },
  );
}

/** "Acknowledge" opens a note field in place; saving calls `POST /findings/{id}/ack`. */
function ackControl(ctx, finding, redraw) {
  const wrap = h('div', { class: 'ack' });
  const open = h(
    'button',
    {
      type: 'button',
      class: 'small',
      'aria-label': t('findings.ackLabel', { id: finding.id }),
      'aria-expanded': 'false',
      onclick: () => {
        const note = h('textarea', { name: 'note', rows: '2', maxlength: '1000', required: true });
        const message = h('div');
        const save = h('button', { type: 'submit', class: 'small' }, t('findings.ackSubmit'));
        replace(
          wrap,
          h(
            'form',
            {
              onsubmit: async (event) => {
                event.preventDefault();
                save.disabled = true;
                try {
                  const answer = await api(`/findings/${encodeURIComponent(finding.id)}/ack`, {
                    method: 'POST',
                    body: { note: note.value.trim() },
                    signal: ctx.signal,
                  });
                  const updated = answer && typeof answer === 'object' && (answer.finding ?? answer);
                  Object.assign(
                    finding,
                    { status: 'acknowledged', ack_note: note.value.trim() },
                    updated?.id ? updated : {},
                  );
                  redraw();
                } catch (e) {
                  save.disabled = false;
                  replace(message, errorBox(e));
                }
              },
            },
            field(t('findings.note'), note),
            h(
              'div',
              { class: 'actions' },
              save,
              h(
                'button',
                { type: 'button', class: 'small secondary', onclick: () => replace(wrap, open) },
                t('common.cancel'),
              ),
            ),
            message,
          ),
        );
        note.focus();
      },
    },
    t('findings.ack'),
  );
  wrap.append(open);
  return wrap;
}
