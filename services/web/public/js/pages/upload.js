/* global FormData */
import { h, replace, table } from '../dom.js';
import { describeCode, t } from '../i18n.js';
import { api, items } from '../api.js';
import { num } from '../format.js';
import { errorBox, field, notice, runProgress } from '../ui.js';
import { provinces } from './common.js';

/** The codes of a rejected row, whatever the API calls them. */
function rowCodes(r) {
  const codes = r.codes ?? r.reasons ?? (r.code ? [r.code] : []);
  return Array.isArray(codes) ? codes.map((c) => (typeof c === 'string' ? c : (c.code ?? String(c)))) : [];
}

function rejectedOf(check) {
  return items(check.rejected ?? check.rejections ?? []);
}

function acceptedCount(check) {
  const a = check.accepted ?? check.counts?.accepted;
  return typeof a === 'number' ? a : Array.isArray(a) ? a.length : null;
}

/** What `POST /check` said: accepted count, rejected rows with their reasons, warnings. */
export function checkResult(check) {
  const rejected = rejectedOf(check);
  // each rejected row is also a record_rejected finding (R6): it is already in the table above
  const warnings = items(check.findings ?? check.warnings ?? []).filter((w) => w.code !== 'record_rejected');
  const hasNames = rejected.some((r) => r.nama ?? r.name ?? r.raw?.nama);
  const rejectedCount =
    typeof check.stats?.rejected === 'number'
      ? check.stats.rejected
      : typeof check.counts?.rejected === 'number'
        ? check.counts.rejected
        : rejected.length;
  return h(
    'section',
    { class: 'check-result' },
    h('h2', null, t('upload.result')),
    h(
      'ul',
      { class: 'summary' },
      h(
        'li',
        { class: 'ok', 'data-accepted': acceptedCount(check) ?? '' },
        t('upload.accepted', { n: num(acceptedCount(check)) }),
      ),
      h(
        'li',
        { class: rejectedCount ? 'bad' : 'ok', 'data-rejected': rejectedCount },
        t('upload.rejectedCount', { n: num(rejectedCount) }),
      ),
    ),
    h('h3', null, t('upload.rejected')),
    table(
      [
        { label: t('col.row'), value: (r) => num(r.row ?? r.position), num: true },
        { label: t('col.nip'), value: (r) => h('span', { class: 'nowrap' }, r.nip ?? r.raw?.nip ?? '') },
        ...(hasNames ? [{ label: t('col.name'), value: (r) => r.nama ?? r.name ?? r.raw?.nama ?? '' }] : []),
        {
          label: t('col.reasons'),
          value: (r) =>
            h(
              'ul',
              { class: 'reasons' },
              rowCodes(r).map((c) => h('li', { 'data-code': c }, describeCode(c), ' ', h('code', null, c))),
              r.message ? h('li', { class: 'muted' }, r.message) : null,
            ),
        },
      ],
      rejected,
      { caption: t('upload.rejected'), empty: t('upload.noRejected') },
    ),
    warnings.length
      ? [
          h('h3', null, t('upload.warnings')),
          h(
            'ul',
            { class: 'warnings' },
            warnings.map((w) =>
              h(
                'li',
                null,
                describeCode(w.code),
                w.row ? ` (${t('col.row')} ${w.row})` : '',
                w.nip ? ` — ${w.nip}` : '',
                w.message ? `: ${w.message}` : '',
              ),
            ),
          ),
        ]
      : null,
  );
}

async function pickSource(ctx) {
  const query = ctx.identity.role === 'province' ? { province: ctx.identity.province } : {};
  const sources = items(await api('/sources', { query, signal: ctx.signal })).filter((s) => s.transport === 'upload');
  return h(
    'div',
    { class: 'page upload' },
    h('h1', null, t('upload.pick')),
    sources.length
      ? h(
          'ul',
          { class: 'plain' },
          sources.map((s) =>
            h('li', null, h('a', { href: `#/upload/${encodeURIComponent(s.id)}` }, `${s.agency} (${s.id})`)),
          ),
        )
      : h('p', { class: 'empty' }, t('upload.noSources')),
  );
}

/**
 * Upload for one source: choose a file → `POST /check?region=` shows accepted and rejected rows
 * with reasons → confirm → `POST /sources/{id}/uploads` → the run's live progress.
 */
export async function renderUpload(ctx) {
  const id = ctx.parts[1];
  if (!id) return pickSource(ctx);
  const sources = items(await api('/sources', { signal: ctx.signal }));
  const source = sources.find((s) => s.id === id);
  if (!source) return errorBox(new Error(t('common.notFound')));
  const provinceCode = source.region_code.slice(0, 2);
  const province = (await provinces(ctx.signal)).find((p) => p.code === provinceCode);

  const fileInput = h('input', {
    type: 'file',
    name: 'file',
    accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  });
  const checkButton = h('button', { type: 'submit' }, t('upload.check'));
  const result = h('div', { 'aria-live': 'polite' });
  const progress = h('div');
  let checkedFile = null;

  const formData = (file) => {
    const fd = new FormData();
    fd.append('file', file, file.name);
    return fd;
  };

  const confirmButton = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      onclick: async () => {
        if (!checkedFile) return;
        confirmButton.disabled = true;
        replace(progress, h('p', { role: 'status' }, t('upload.uploading')));
        try {
          const answer = await api(`/sources/${encodeURIComponent(source.id)}/uploads`, {
            method: 'POST',
            body: formData(checkedFile),
            signal: ctx.signal,
          });
          const runId = answer?.run_id ?? answer?.run?.id ?? answer?.id ?? null;
          replace(progress, notice(t('upload.done'), 'ok'), runId ? runProgress(runId, ctx.signal) : null);
        } catch (e) {
          confirmButton.disabled = false;
          replace(progress, errorBox(e));
        }
      },
    },
    t('upload.confirm'),
  );

  const form = h(
    'form',
    {
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        const file = fileInput.files && fileInput.files[0];
        if (!file) {
          replace(result, h('div', { class: 'alert alert-error', role: 'alert' }, t('upload.noFile')));
          fileInput.focus();
          return;
        }
        checkButton.disabled = true;
        checkedFile = null;
        replace(progress);
        replace(result, h('p', { role: 'status' }, t('upload.checking')));
        try {
          const check = await api('/check', {
            method: 'POST',
            query: { region: source.region_code },
            body: formData(file),
            signal: ctx.signal,
          });
          checkedFile = file;
          confirmButton.disabled = false;
          replace(
            result,
            checkResult(check),
            h('div', { class: 'actions' }, confirmButton),
            rejectedOf(check).length ? h('p', { class: 'hint' }, t('upload.confirmHint')) : null,
          );
        } catch (e) {
          replace(result, errorBox(e));
        } finally {
          checkButton.disabled = false;
        }
      },
    },
    field(t('upload.file'), fileInput),
    h('div', { class: 'actions' }, checkButton),
  );

  return h(
    'div',
    { class: 'page upload', 'data-source': source.id },
    h(
      'p',
      { class: 'crumbs' },
      h(
        'a',
        { href: `#/province/${encodeURIComponent(provinceCode)}` },
        province ? t('province.title', { name: province.name }) : provinceCode,
      ),
    ),
    h('h1', null, t('upload.title', { source: source.agency ?? source.id })),
    h('p', null, `${source.id} · ${source.region_code}`),
    form,
    result,
    progress,
  );
}
