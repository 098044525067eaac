/* Unlock the offline copy with the PIN; too many wrong PINs wipe the readable data (session.js). */
import { h } from '../dom.js';
import { t } from '../i18n.js';
import * as outbox from '../outbox.js';
import * as session from '../session.js';

export function render() {
  const error = h('p', { class: 'error', role: 'alert', id: 'unlock-error' });
  const pin = h('input', { id: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('unlock.submit'));
  const pending = outbox.status().pending;
  return h('form', {
    class: 'card form',
    onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      error.textContent = t('unlock.working');
      try {
        await session.unlock(pin.value);
      } catch (err) {
        if (err instanceof session.WrongPinError) {
          error.textContent = t('unlock.wrong', { n: err.remaining });
          pin.value = '';
          pin.focus();
          submit.disabled = false;
        } else if (!(err instanceof session.WipedError)) {
          throw err;
        }
      }
    },
  },
  h('h1', {}, t('unlock.title')),
  pending ? h('p', { class: 'info' }, t('unlock.pending', { n: pending })) : null,
  h('label', { for: 'pin' }, t('unlock.pin')), pin,
  error, submit);
}
