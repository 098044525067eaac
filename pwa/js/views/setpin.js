/* Choose the PIN that wraps the data key; afterwards the shift is downloaded and stored encrypted. */
import { PIN_PATTERN } from '../config.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import * as session from '../session.js';
import * as shift from '../shift.js';

export function render() {
  const error = h('p', { class: 'error', role: 'alert', id: 'pin-error' });
  const pin = h('input', { id: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'new-password', required: true, 'aria-describedby': 'pin-help' });
  const again = h('input', { id: 'pin2', type: 'password', inputmode: 'numeric', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('setpin.submit'));
  return h('form', {
    class: 'card form',
    onsubmit: async (e) => {
      e.preventDefault();
      if (!PIN_PATTERN.test(pin.value)) { error.textContent = t('setpin.invalid'); return; }
      if (pin.value !== again.value) { error.textContent = t('setpin.mismatch'); return; }
      submit.disabled = true;
      error.textContent = t('setpin.working');
      history.replaceState(null, '', '#/today'); // a new enrolment starts on Today, whatever was open before
      shift.prefetch(); // the shift downloads while the key is derived (PBKDF2 takes a while on a phone)
      await session.setPin(pin.value);
    },
  },
  h('h1', {}, t('setpin.title')),
  h('p', { id: 'pin-help' }, t('setpin.help')),
  h('label', { for: 'pin' }, t('setpin.pin')), pin,
  h('label', { for: 'pin2' }, t('setpin.again')), again,
  error, submit);
}
