// Login for the manager and administrator pages; sends the user back to the page they came from.
import { el, login } from './shell.js';
import { t, translatePage } from './i18n.js';

translatePage();
const params = new URLSearchParams(location.search);
const message = document.getElementById('login-message');
if (params.get('expired')) message.replaceChildren(el('p', { class: 'message error' }, t('login.expired')));

// Only a page of this area may be the target (no open redirect through ?next=).
function target() {
  const next = params.get('next') || '';
  return /^[a-z0-9-]+\.html(\?[^#]*)?$/i.test(next) ? next : 'index.html';
}

document.getElementById('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    await login(form.username.value.trim(), form.password.value);
    location.assign(target());
  } catch (error) {
    message.replaceChildren(el('p', { class: 'message error', role: 'alert' }, error.message));
    button.disabled = false;
  }
});
