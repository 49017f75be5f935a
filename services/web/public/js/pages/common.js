/* global URLSearchParams */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { API_BASE, api, items } from '../api.js';

let provincesCache = null;

/** The provinces `[{code, name}]` from `GET /regions` (public), fetched once per page load. */
export async function provinces(signal) {
  if (!provincesCache) {
    provincesCache = api('/regions', { query: { level: 'province' }, signal }).then((answer) =>
      items(answer)
        .filter((r) => r.level === 'province' || (typeof r.code === 'string' && r.code.length === 2))
        .map((r) => ({ code: r.code, name: r.name })),
    );
    provincesCache.catch(() => (provincesCache = null));
  }
  return provincesCache;
}

/** A `<select>` of provinces (admins choose; a province key is fixed to its own). */
export function provinceSelect(list, value, identity) {
  if (identity.role === 'province') {
    return h(
      'select',
      { name: 'province' },
      list
        .filter((p) => p.code === identity.province)
        .map((p) => h('option', { value: p.code, selected: true }, `${p.name} (${p.code})`)),
    );
  }
  return h(
    'select',
    { name: 'province' },
    h('option', { value: '' }, t('common.all')),
    list.map((p) => h('option', { value: p.code, selected: p.code === value }, `${p.name} (${p.code})`)),
  );
}

/** Reads a filter form into a hash query string (empty fields left out). */
export function formQuery(form) {
  const params = new URLSearchParams();
  for (const el of form.elements) {
    if (!el.name || el.type === 'submit' || el.type === 'button') continue;
    const v = String(el.value ?? '').trim();
    if (v) params.set(el.name, v);
  }
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

let namesCache = null;

/** Every region's name by code (`GET /regions`, public), fetched once per page load. */
export async function regionNames(signal) {
  if (!namesCache) {
    namesCache = api('/regions', { signal }).then((answer) => new Map(items(answer).map((r) => [r.code, r.name])));
    namesCache.catch(() => (namesCache = null));
  }
  try {
    return await namesCache;
  } catch {
    return new Map(); // names are a help, not a need: codes still show
  }
}

let statusesCache = null;

/**
 * The officer statuses the register can be filtered by, as the API states them: the `status`
 * parameter of `GET /officers` in `GET /openapi.json`, without its R5 groups `active`/`inactive`.
 * Fetched once per page load; none when the document cannot be read (the filter offers "all").
 */
export async function officerStatuses(signal) {
  if (!statusesCache) {
    statusesCache = api('/openapi.json', { signal }).then((doc) => {
      const parameters = doc?.paths?.[`${API_BASE}/officers`]?.get?.parameters ?? [];
      const status = parameters.find((p) => p.in === 'query' && p.name === 'status');
      const values = Array.isArray(status?.schema?.enum) ? status.schema.enum : [];
      return values.filter((s) => s !== 'active' && s !== 'inactive');
    });
    statusesCache.catch(() => (statusesCache = null));
  }
  try {
    return await statusesCache;
  } catch {
    return [];
  }
}

/** A region as "Kota Palembang" with its code beneath, or just the code when the name is unknown. */
export function regionLabel(names, code) {
  if (!code) return '';
  const name = names.get(code);
  return name ? [name, h('div', { class: 'muted' }, code)] : code;
}
