// Notifications for administrators and managers (issue 6): subscribe this browser to Web Push, after reading
// what is sent. Uses the worker app's service worker (/sw.js) and push module, with this page's login.
import * as push from '../js/push.js';
import { el, session, startPage } from './shell.js';
import { lang, t } from './i18n.js';

const user = await startPage({ page: 'notifications.html' });
const byId = (id) => document.getElementById(id);
const button = byId('push-toggle');
button.textContent = t('push.on'); // named at once: the state below takes a moment, and a button is never empty
const message = byId('push-message');

byId('push-what').replaceChildren(...[user.role === 'admin' ? 'push.what.admin' : 'push.what.manager',
  'push.what.outage'].map((key) => el('li', {}, t(key))));

async function draw() {
  const state = await push.status();
  byId('push-state').textContent = t(state.subscribed ? 'push.state.on' : 'push.state.off');
  byId('push-unsupported').replaceChildren(state.support === 'ok' ? ''
    : el('p', { class: 'message error', role: 'note' }, t(`push.support.${state.support}`)));
  button.textContent = t(state.subscribed ? 'push.off' : 'push.on');
  button.className = state.subscribed ? 'secondary' : '';
  button.disabled = !state.subscribed && state.support !== 'ok';
  return state;
}

button.addEventListener('click', async () => {
  button.disabled = true;
  message.textContent = '';
  try {
    const { subscribed } = await push.status();
    if (subscribed) await push.unsubscribe(session().token);
    else await push.subscribe(session().token, lang());
    message.textContent = t(subscribed ? 'push.done.off' : 'push.done.on');
  } catch (err) {
    message.textContent = t(`push.error.${err.code || 'server'}`);
  }
  await draw();
});

if ('serviceWorker' in navigator) {
  // The same service worker as the worker app: it shows the notifications and opens the page a click asks for.
  navigator.serviceWorker.register('/sw.js').catch(() => null);
}
draw();
