/* "Notiser" (issue 6): the consent screen for Web Push. It says what is sent and what is never sent, asks the
 * browser for permission only when the worker presses the button, and says plainly when this phone cannot
 * (iPhone: only an app added to the home screen, iOS 16.4 or later).
 */
import { h } from '../dom.js';
import { lang, t } from '../i18n.js';
import * as push from '../push.js';
import * as session from '../session.js';

const WHAT = ['push.what.outage', 'push.what.back', 'push.what.deadline', 'push.what.copy'];

function explainSupport(s) {
  if (s === 'ok') return null;
  return h('p', { class: 'warning', id: 'push-unsupported', role: 'note' }, t(`push.support.${s}`));
}

export async function render(ctx) {
  const state = await push.status();
  if (state.support === 'ok' || state.subscribed) push.rememberLang(lang());
  const message = h('p', { id: 'push-message', role: 'status', 'aria-live': 'polite' });
  const act = (fn, done) => async (e) => {
    e.target.disabled = true;
    try {
      await fn();
      message.textContent = t(done);
      ctx.rerender();
    } catch (err) {
      message.className = 'warning';
      message.textContent = t(`push.error.${err.code || 'server'}`);
      e.target.disabled = false;
    }
  };
  const usable = state.support === 'ok';
  const button = state.subscribed
    ? h('button', { type: 'button', class: 'big', id: 'push-unsubscribe',
      onclick: act(() => push.unsubscribe(session.token()), 'push.done.off') }, t('push.off'))
    : h('button', { type: 'button', class: 'primary big', id: 'push-subscribe', disabled: !usable || !navigator.onLine,
      onclick: act(() => push.subscribe(session.token(), lang()), 'push.done.on') }, t('push.on'));
  return h('section', {},
    h('h1', {}, t('push.title')),
    h('div', { class: 'card' },
      h('p', { id: 'push-state' }, t(state.subscribed ? 'push.state.on' : 'push.state.off')),
      h('p', {}, t('push.intro')),
      h('ul', { id: 'push-what' }, WHAT.map((key) => h('li', {}, t(key)))),
      h('p', { class: 'info', id: 'push-privacy' }, t('push.privacy')),
      explainSupport(state.support),
      usable && !navigator.onLine && !state.subscribed ? h('p', { class: 'info' }, t('push.needs_network')) : null,
      button,
      message));
}
