/** The parts around the panels: the language switch, the sign-in form, the top bar. */
import { ApiError, signIn } from './api.js';
import { h, label } from './dom.js';
import { errorText } from './errors.js';
import { lang, setLang, type LabelKey } from './i18n.js';
import type { LiveState } from './live.js';
import type { Session } from './types.js';

export function languageButton(): HTMLButtonElement {
  const button = h('button', {
    class: 'secondary lang',
    attrs: { type: 'button', id: 'lang-switch', lang: lang() === 'ko' ? 'en' : 'ko' },
    i18n: 'lang.switch',
    i18nAttrs: { title: 'lang.switchLabel' },
  });
  button.addEventListener('click', () => {
    setLang(lang() === 'ko' ? 'en' : 'ko');
    button.lang = lang() === 'ko' ? 'en' : 'ko';
  });
  return button;
}

export function skipLink(): HTMLAnchorElement {
  return h('a', { class: 'skip-link', attrs: { href: '#main' }, i18n: 'app.skip' });
}

/** The sign-in form; onSignedIn runs after the tokens are stored. */
export function signInScreen(onSignedIn: () => Promise<void>, notice?: LabelKey): HTMLElement {
  const email = h('input', { attrs: { type: 'email', name: 'username', required: true, autocomplete: 'username', id: 'email' } });
  const password = h('input', { attrs: { type: 'password', name: 'password', required: true, autocomplete: 'current-password', id: 'password' } });
  const message = h('p', { class: notice ? 'message error' : 'message', attrs: { role: 'alert', id: 'signin-message' } }, notice ? label(notice) : null);
  const submit = h('button', { attrs: { type: 'submit' }, i18n: 'auth.submit' });
  const form = h(
    'form',
    {
      class: 'signin stack',
      attrs: { 'aria-labelledby': 'signin-title', id: 'signin' },
      on: {
        submit: async (e) => {
          e.preventDefault();
          submit.disabled = true;
          message.replaceChildren(label('auth.signingIn'));
          message.className = 'message';
          try {
            await signIn(email.value.trim(), password.value);
            password.value = '';
            await onSignedIn();
          } catch (err) {
            message.className = 'message error';
            const key: LabelKey | undefined =
              err instanceof ApiError
                ? err.status === 401
                  ? 'auth.failed'
                  : err.status === 429
                    ? 'auth.locked'
                    : err.status === 403
                      ? 'auth.notStaff'
                      : undefined
                : undefined;
            message.replaceChildren(key ? label(key) : errorText(err));
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    h('h1', { i18n: 'auth.title', attrs: { id: 'signin-title' } }),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'auth.email' }), email),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'auth.password' }), password),
    h('div', { class: 'actions' }, submit),
    message,
  );
  queueMicrotask(() => email.focus());
  return h(
    'main',
    { class: 'signin-screen', attrs: { id: 'main' } },
    h('div', { class: 'signin-top' }, h('p', { class: 'brand', i18n: 'app.title' }), languageButton()),
    form,
  );
}

export interface TopBar {
  element: HTMLElement;
  setLive: (state: LiveState) => void;
}

export function topBar(session: Session, onSignOut: () => void): TopBar {
  const live = h(
    'span',
    { class: 'live connecting', attrs: { role: 'status', id: 'live-state', 'data-state': 'connecting' }, i18nAttrs: { title: 'live.label' } },
    label('live.connecting'),
  );
  const element = h(
    'header',
    { class: 'topbar' },
    h('h1', { i18n: 'app.title' }),
    live,
    h('span', { class: 'who' }, h('span', { class: 'email' }, session.email), ' · ', h('span', { i18n: `role.${session.role}` })),
    h(
      'div',
      { class: 'topbar-actions' },
      languageButton(),
      h('button', { class: 'secondary', attrs: { type: 'button', id: 'sign-out' }, i18n: 'auth.signOut', on: { click: onSignOut } }),
    ),
  );
  return {
    element,
    setLive: (state) => {
      live.className = `live ${state}`;
      live.dataset.state = state;
      live.replaceChildren(label(`live.${state}`));
    },
  };
}
