/* global document, window, location, URLSearchParams, AbortController */
/**
 * The console shell: header (navigation, language, identity), a hash router (`#/province/16`,
 * `#/findings?status=open`) and page switching. Each page is `render(ctx) → Node | Promise<Node>`;
 * ctx.signal aborts when the user leaves the page (stopping live polling).
 */
import { h, replace } from './dom.js';
import { getLang, setLang, t } from './i18n.js';
import { clearSession, getIdentity } from './api.js';
import { errorBox, loading } from './ui.js';
import { renderSignIn } from './pages/signin.js';
import { renderOverview } from './pages/overview.js';
import { renderProvince } from './pages/province.js';
import { renderUpload } from './pages/upload.js';
import { renderFindings } from './pages/findings.js';
import { renderRuns, renderRun } from './pages/runs.js';
import { renderRegister } from './pages/register.js';
import { renderRemovals } from './pages/removals.js';
import { renderOfficer } from './pages/officer.js';
import { renderVersion } from './pages/version.js';
import { renderNeeds } from './pages/needs.js';

const root = document.getElementById('app');
let current = null;

/** Splits the hash into path parts and query. */
export function parseHash(hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const query = Object.fromEntries(new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)));
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => decodeURIComponent(p));
  return { parts, query };
}

export function navigate(hash) {
  if (location.hash === hash) void render();
  else location.hash = hash;
}

function route(parts, identity) {
  if (!identity || parts[0] === 'signin') return { page: renderSignIn, name: 'signin' };
  switch (parts[0]) {
    case undefined:
      return { page: renderOverview, name: 'overview' };
    case 'province':
      return { page: renderProvince, name: 'province' };
    case 'upload':
      return { page: renderUpload, name: 'upload' };
    case 'findings':
      return { page: renderFindings, name: 'findings' };
    case 'runs':
      return parts[1] ? { page: renderRun, name: 'run' } : { page: renderRuns, name: 'runs' };
    case 'register':
      return { page: renderRegister, name: 'register' };
    case 'needs':
      return { page: renderNeeds, name: 'needs' };
    case 'officer':
      return { page: renderOfficer, name: 'officer' };
    case 'versions':
      return { page: renderVersion, name: 'version' };
    case 'removals':
      return { page: renderRemovals, name: 'removals' };
    default:
      return { page: () => errorBox(new Error(t('common.notFound'))), name: 'notfound' };
  }
}

function header(identity, active) {
  const link = (href, key, name) =>
    h('a', { href, 'aria-current': active === name ? 'page' : null, class: 'nav-link' }, t(key));
  // "My province" is current only on the key's own province
  const mine =
    active === 'province' && identity?.province && location.hash.startsWith(`#/province/${identity.province}`);
  const nav = identity
    ? [
        link('#/', 'nav.overview', 'overview'),
        identity.role === 'province' && identity.province
          ? link(`#/province/${encodeURIComponent(identity.province)}`, 'nav.myProvince', mine ? 'province' : 'mine')
          : null,
        identity.role !== 'public' ? link('#/findings?status=open', 'nav.findings', 'findings') : null,
        identity.role !== 'public' ? link('#/runs', 'nav.runs', 'runs') : null,
        link('#/register', 'nav.register', 'register'),
        // a province key is kept to its own province's needs (pages/needs.js)
        link(
          identity.role === 'province' && identity.province
            ? `#/needs/${encodeURIComponent(identity.province)}`
            : '#/needs',
          'nav.needs',
          'needs',
        ),
        identity.role !== 'public' ? link('#/removals', 'nav.removals', 'removals') : null,
      ]
    : [];
  const who = identity
    ? identity.role === 'admin'
      ? t('role.admin')
      : identity.role === 'province'
        ? t('role.province', { province: identity.province ?? '' })
        : t('role.public')
    : null;
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'skip', href: '#main', onclick: skipToMain }, t('app.skip')),
    h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'PK'), t('app.title')),
    h(
      'nav',
      { 'aria-label': t('nav.label') },
      h(
        'ul',
        null,
        nav.filter(Boolean).map((a) => h('li', null, a)),
      ),
    ),
    h(
      'div',
      { class: 'session' },
      who ? h('span', { class: 'who', 'data-role': identity.role }, who) : null,
      h(
        'button',
        {
          type: 'button',
          class: 'lang',
          lang: getLang() === 'id' ? 'en' : 'id',
          'aria-label': t('nav.languageLabel'),
          onclick: () => {
            setLang(getLang() === 'id' ? 'en' : 'id');
            // keep the keyboard user where they were: on the language button
            void render().then(() => document.querySelector('button.lang')?.focus());
          },
        },
        t('nav.language'),
      ),
      identity
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: () => {
                clearSession();
                navigate('#/signin');
              },
            },
            identity.role === 'public' ? t('nav.signIn') : t('nav.signOut'),
          )
        : null,
    ),
  );
}

function skipToMain(event) {
  event.preventDefault();
  document.getElementById('main')?.focus();
}

/** Renders the page for the current hash. */
export async function render() {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const { parts, query } = parseHash(location.hash);
  const identity = getIdentity();
  const { page, name } = route(parts, identity);
  document.documentElement.lang = getLang();
  const main = h('main', { id: 'main', tabindex: '-1', 'data-page': name }, loading());
  replace(root, header(identity, name), main);
  const ctx = { identity, parts, query, signal: controller.signal, navigate, rerender: render };
  let content;
  try {
    content = await page(ctx);
  } catch (e) {
    if (controller.signal.aborted) return;
    if (e && e.status === 401) {
      clearSession();
      content = [errorBox(e), renderSignInLink()];
    } else content = errorBox(e);
  }
  if (controller.signal.aborted) return;
  replace(main, content);
  main.dataset.ready = 'true';
  const title = main.querySelector('h1');
  document.title = title ? `${title.textContent} — pksync` : 'pksync';
}

function renderSignInLink() {
  return h('p', null, h('a', { href: '#/signin' }, t('nav.signIn')));
}

window.addEventListener('hashchange', () => {
  void render().then(() => document.getElementById('main')?.focus({ preventScroll: true }));
});
void render();
