/* Login screen: enrols the device (first login, after a PIN wipe, or when the token has expired). */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import * as outbox from '../outbox.js';
import * as session from '../session.js';

export function render() {
  const wiped = session.wipedNotice();
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', autocapitalize: 'none', required: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('login.submit'));
  const pending = outbox.status().pending;
  const form = h('form', {
    class: 'card form',
    onsubmit: async (e) => {
      e.preventDefault();
      error.replaceChildren();
      submit.disabled = true;
      const renewing = session.state() === 'unlocked';
      try {
        await session.login(username.value.trim(), password.value);
        if (renewing) location.hash = '#/today';
      } catch (err) {
        error.replaceChildren(t(`login.error.${err.code}`) === `login.error.${err.code}` ? t('login.error.other') : t(`login.error.${err.code}`));
        // Managers and administrators are sent where they belong, with the address (issue 31, item 9).
        if (err.code === 'not_worker') error.append(' ', h('a', { href: '/admin/', id: 'admin-link' }, t('login.admin_link')));
        submit.disabled = false;
      }
    },
  },
  h('h1', {}, session.state() === 'unlocked' ? t('login.again_title') : t('login.title')),
  wiped ? h('p', { class: 'warning', role: 'alert' }, t('login.wiped')) : null,
  pending ? h('p', { class: 'info' }, t('login.pending', { n: pending })) : null,
  h('label', { for: 'username' }, t('login.username')), username,
  h('label', { for: 'password' }, t('login.password')), password,
  error, submit);
  return form;
}
