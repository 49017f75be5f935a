import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { api, ApiError, clearSession, setSession } from '../api.js';
import { errorBox, field } from '../ui.js';

/**
 * Sign-in with an API key: the key is checked with `GET /me` (which tells its role and province)
 * and kept in sessionStorage for this tab only. "Continue without a key" gives the public view.
 */
export function renderSignIn(ctx) {
  const input = h('input', {
    type: 'password',
    name: 'key',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'signin-intro',
  });
  const message = h('div', { 'aria-live': 'assertive' });
  const submit = h('button', { type: 'submit' }, t('signin.submit'));
  const form = h(
    'form',
    {
      class: 'card narrow',
      onsubmit: async (event) => {
        event.preventDefault();
        const key = input.value.trim();
        if (!key) {
          replace(message, h('div', { class: 'alert alert-error', role: 'alert' }, t('signin.empty')));
          input.focus();
          return;
        }
        submit.disabled = true;
        replace(message, h('p', { role: 'status' }, t('signin.checking')));
        try {
          const me = await api('/me', { key });
          const identity = {
            role: me.role === 'admin' ? 'admin' : 'province',
            province: me.province ?? me.province_code ?? null,
            name: me.name ?? null,
          };
          setSession(key, identity);
          ctx.navigate(identity.role === 'province' && identity.province ? `#/province/${identity.province}` : '#/');
        } catch (e) {
          submit.disabled = false;
          replace(
            message,
            e instanceof ApiError && (e.status === 401 || e.status === 403)
              ? h('div', { class: 'alert alert-error', role: 'alert' }, t('signin.bad'))
              : errorBox(e),
          );
          input.select();
        }
      },
    },
    h('h1', null, t('signin.title')),
    h('p', { id: 'signin-intro' }, t('signin.intro')),
    field(t('signin.key'), input),
    message,
    h('div', { class: 'actions' }, submit),
    h(
      'p',
      null,
      h(
        'a',
        {
          href: '#/',
          onclick: (event) => {
            event.preventDefault();
            clearSession();
            setSession(null, { role: 'public', province: null, name: null });
            ctx.navigate('#/');
          },
        },
        t('signin.public'),
      ),
    ),
  );
  return form;
}
