import { h, table } from '../dom.js';
import { describeReason, t } from '../i18n.js';
import { api } from '../api.js';
import { dateTime } from '../format.js';
import { badge } from '../ui.js';
import { regionLabel, regionNames } from './common.js';

/**
 * One officer with history (`GET /officers/{nip}`: province and admin keys only; a key of another
 * province is refused with 403, which the shell shows as "Akses ditolak").
 */
export async function renderOfficer(ctx) {
  const nip = ctx.parts[1] ?? '';
  const [answer, names] = await Promise.all([
    api(`/officers/${encodeURIComponent(nip)}`, { signal: ctx.signal }),
    regionNames(ctx.signal),
  ]);
  const o = answer.officer ?? answer;
  const levelText = (l) => (l ? t(`col.level.${l}`) : '');
  const statusText = (s) => (s ? t(`status.${s}`) : '');
  return h(
    'div',
    { class: 'page officer', 'data-nip': o.nip ?? nip },
    h(
      'p',
      { class: 'crumbs' },
      h('a', { href: `#/register?region=${encodeURIComponent(o.region_code ?? '')}` }, t('nav.register')),
    ),
    h('h1', null, o.name),
    answer.current === false ? badge(t('officer.notCurrent'), 'warn') : null,
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, t('col.nip')),
      h('dd', null, o.nip ?? t('common.none')),
      h('dt', null, t('col.level')),
      h('dd', null, levelText(o.level)),
      h('dt', null, t('col.grade')),
      h('dd', null, o.grade ?? ''),
      h('dt', null, t('col.unit')),
      h('dd', null, o.unit ?? ''),
      h('dt', null, t('col.region')),
      h('dd', null, regionLabel(names, o.region_code)),
      h('dt', null, t('col.status')),
      h(
        'dd',
        null,
        statusText(o.status),
        o.past_retirement_age ? [' ', badge(t('code.past_retirement_age'), 'warn')] : null,
      ),
      h('dt', null, t('officer.tmt')),
      h('dd', null, o.tmt_jabatan ?? ''),
      o.email ? [h('dt', null, t('officer.email')), h('dd', null, o.email)] : null,
      o.phone ? [h('dt', null, t('officer.phone')), h('dd', null, o.phone)] : null,
    ),
    h('h2', null, t('officer.assignments')),
    table(
      [
        { label: t('col.region'), value: (a) => regionLabel(names, a.region_code) },
        { label: t('col.source'), value: (a) => a.source_id },
        { label: t('col.unit'), value: (a) => a.unit },
        { label: t('col.level'), value: (a) => levelText(a.level) },
        { label: t('col.grade'), value: (a) => a.grade },
        { label: t('col.status'), value: (a) => statusText(a.status) },
        { label: t('officer.from'), value: (a) => [`v${a.from_version} `, dateTime(a.from_at)] },
        {
          label: t('officer.to'),
          value: (a) => (a.to_version ? [`v${a.to_version} `, dateTime(a.to_at)] : t('common.none')),
        },
      ],
      answer.assignments ?? [],
      { caption: t('officer.assignments'), empty: t('common.none') },
    ),
    h('h2', null, t('officer.changes')),
    table(
      [
        { label: t('col.version'), value: (c) => String(c.version), num: true },
        { label: t('version.publishedAt'), value: (c) => dateTime(c.published_at) },
        { label: t('officer.change'), value: (c) => t(`officer.change.${c.change}`) },
        { label: t('officer.fields'), value: (c) => (c.fields ?? []).join(', ') },
        { label: t('col.reasons'), value: (c) => describeReason(c.reason) },
        { label: t('col.region'), value: (c) => regionLabel(names, c.region_code) },
      ],
      answer.changes ?? [],
      { caption: t('officer.changes'), empty: t('common.none') },
    ),
  );
}
