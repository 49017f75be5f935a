/* global setTimeout, clearTimeout */
import { h, replace, table } from './dom.js';
import { t } from './i18n.js';
import { api, ApiError, items } from './api.js';
import { countsText, dateTime, num } from './format.js';

/** A message box for an error from the API, in words a province officer understands. */
export function errorBox(error) {
  let text;
  if (error instanceof ApiError) {
    if (error.status === 403) text = t('common.forbidden');
    else if (error.status === 401) text = t('common.unauthorized');
    else if (error.status === 404) text = t('common.notFound');
    else if (error.status === 0) text = t('common.network');
    else text = t('common.error', { message: error.message || error.code });
  } else {
    text = t('common.error', { message: error && error.message ? error.message : String(error) });
  }
  return h('div', { class: 'alert alert-error', role: 'alert', 'data-status': error?.status ?? null }, text);
}

export function notice(text, kind = 'info') {
  return h('div', { class: `alert alert-${kind}`, role: 'status' }, text);
}

export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('common.loading'));
}

/** A small coloured label for a status word. */
export function badge(text, tone) {
  return h('span', { class: `badge badge-${tone ?? 'neutral'}` }, text);
}

export function runStatusBadge(status) {
  const tone =
    { queued: 'neutral', running: 'info', completed: 'ok', failed: 'bad', cancelled: 'bad' }[status] ?? 'neutral';
  return badge(t(`run.status.${status}`), tone);
}

export function fetchStatusBadge(status) {
  if (!status) return badge(t('fetch.never'), 'neutral');
  const tone = { pending: 'neutral', running: 'info', succeeded: 'ok', unchanged: 'ok', failed: 'bad' }[status];
  return badge(t(`fetch.status.${status}`), tone ?? 'neutral');
}

export function severityBadge(severity) {
  const tone = { error: 'bad', warning: 'warn', info: 'neutral' }[severity] ?? 'neutral';
  return badge(t(`severity.${severity}`), tone);
}

/** Waits `ms`, or rejects early when `signal` aborts (the page was left). */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** The per-source rows of a run answer, whatever the API calls them. */
export function runSources(run) {
  return items(run.sources ?? run.source_fetches ?? run.fetches ?? []);
}

/**
 * A live view of one run: polls `GET /runs/{id}` every second until the run is completed or
 * failed, showing its status, sources done out of all, per-source outcomes and counts, and the
 * version it published. Stops when `signal` aborts (the user left the page).
 */
export function runProgress(runId, signal, { onDone } = {}) {
  const box = h('section', { class: 'run-progress', 'aria-live': 'polite', 'data-run-id': runId });
  const heading = h('h3', null, t('run.progress'), ' ', h('a', { href: `#/runs/${encodeURIComponent(runId)}` }, runId));
  const body = h('div', null, loading());
  box.append(heading, body);
  void (async () => {
    let failures = 0;
    for (;;) {
      let run;
      try {
        run = await api(`/runs/${encodeURIComponent(runId)}`, { signal });
        failures = 0;
      } catch (e) {
        if (signal?.aborted) return;
        failures += 1;
        if (failures >= 5) {
          replace(body, errorBox(e));
          return;
        }
        await sleep(1000, signal).catch(() => {});
        continue;
      }
      replace(body, runSummary(run));
      box.dataset.status = run.status;
      if (run.status === 'completed' || run.status === 'failed' || run.status === 'cancelled') {
        onDone?.(run);
        return;
      }
      try {
        await sleep(1000, signal);
      } catch {
        return;
      }
    }
  })();
  return box;
}

/** Status, outcome and per-source table of a run (used live and on the run page). */
export function runSummary(run) {
  const sources = runSources(run);
  const done = sources.filter((s) => ['succeeded', 'unchanged', 'failed'].includes(s.status)).length;
  const version = run.version_published ?? run.version ?? null;
  let outcome = null;
  if (run.status === 'completed') {
    outcome =
      version !== null && version !== undefined
        ? h(
            'div',
            { class: 'alert alert-ok', role: 'status' },
            t('run.published', { version }),
            ' ',
            h('a', { href: `#/versions/${encodeURIComponent(version)}` }, t('version.open')),
          )
        : notice(t('run.noChange'), 'info');
  } else if (run.status === 'failed' || run.status === 'cancelled') {
    const key = run.status === 'failed' ? 'run.failed' : 'run.cancelled';
    outcome = h('div', { class: 'alert alert-error', role: 'alert' }, t(key, { message: run.error ?? '' }));
  }
  return h(
    'div',
    { class: 'run-summary' },
    h(
      'p',
      null,
      runStatusBadge(run.status),
      ' ',
      sources.length ? t('run.sourcesDone', { done: num(done), total: num(sources.length) }) : null,
    ),
    sources.length
      ? h('progress', { max: String(sources.length), value: String(done), 'aria-label': t('run.progress') })
      : null,
    h('p', { class: 'counts' }, countsText(run.counts)),
    outcome,
    sources.length
      ? table(
          [
            { label: t('col.source'), value: (s) => s.source_id ?? s.id ?? '' },
            { label: t('col.agency'), value: (s) => s.agency ?? t('common.none') },
            { label: t('col.status'), value: (s) => fetchStatusBadge(s.status) },
            { label: t('col.attempts'), value: (s) => num(s.attempts), num: true },
            { label: t('col.counts'), value: (s) => countsText(s.counts) },
            {
              label: t('col.message'),
              value: (s) => [s.error_code ?? s.error?.code ?? '', ' ', s.error_message ?? s.error?.message ?? ''],
            },
            { label: t('col.finished'), value: (s) => dateTime(s.finished_at) },
          ],
          sources,
          { caption: t('run.sources') },
        )
      : null,
  );
}

/** A labelled form field. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('small', { class: 'hint' }, hint) : null,
  );
}
