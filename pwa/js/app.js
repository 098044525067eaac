/* The app shell: boots the session, draws the always-visible status bar and the menu, routes between screens.
 *
 * Routes (hash): #/today, #/visit/:id, #/client/:id, #/sync, #/print, #/postreg, #/push, #/login (new login while
 * unlocked). Screen modules export render(ctx) → Node | Promise<Node>; ctx = {params, fresh, navigate,
 * rerender}; `fresh` is true when the screen was navigated to (not merely redrawn).
 * Only the first screens (login, PIN, unlock) are static imports (index.html preloads them); the others are
 * import()ed, warmed in the background once the first screen is drawn. sw.js precaches them all.
 */
import { PULL_EVERY_MS } from './config.js';
import { ageText, clear, fmtTime, h, toast } from './dom.js';
import { LANGS, lang, loadCatalogs, setLang, t } from './i18n.js';
import { onReachability, reachable } from './api.js';
import * as outbox from './outbox.js';
import * as session from './session.js';
import * as shift from './shift.js';
import * as login from './views/login.js';
import * as setpin from './views/setpin.js';
import * as unlock from './views/unlock.js';

// A failed import (offline before the service worker had it) is tried again on next use.
function lazy(load) {
  let loading = null;
  return () => (loading ||= load().catch((e) => { loading = null; throw e; }));
}
const today = lazy(() => import('./views/today.js'));
const visit = lazy(() => import('./views/visit.js'));
const client = lazy(() => import('./views/client.js'));
const sync = lazy(() => import('./views/sync.js'));
const print = lazy(() => import('./views/print.js'));
const postreg = lazy(() => import('./views/postreg.js'));
const pushView = lazy(() => import('./views/push.js'));
const push = lazy(() => import('./push.js'));

const ROUTES = [
  [/^#\/visit\/(\d+)$/, visit, ['id']],
  [/^#\/client\/(\d+)$/, client, ['id']],
  [/^#\/sync$/, sync, []],
  [/^#\/print$/, print, []],
  [/^#\/postreg$/, postreg, []],
  [/^#\/push$/, pushView, []],
  [/^#\/login$/, login, []],
  [/^#\/today$/, today, []],
];

function warm(...loaders) {
  (window.requestIdleCallback || setTimeout)(() => loaders.forEach((load) => load().catch(() => {})));
}

const NAV = [['#/today', 'nav.today'], ['#/postreg', 'nav.postreg'], ['#/sync', 'nav.sync'], ['#/print', 'nav.print'], ['#/push', 'nav.push']];

let copyAsOf = null;
let persisted = null;
let lastHash = null;

const main = () => document.getElementById('main');

function navigate(hash) {
  if (location.hash === hash) render(true);
  else location.hash = hash;
}

function screenFor(state) {
  if (state === 'login') return [login, {}];
  if (state === 'setpin') return [setpin, {}];
  if (state === 'locked') return [unlock, {}];
  for (const [re, mod, names] of ROUTES) {
    const m = location.hash.match(re);
    if (m) return [mod, Object.fromEntries(names.map((n, i) => [n, m[i + 1]]))];
  }
  return [today, {}];
}

let renders = 0;
let owedFresh = false; // a fresh render overtaken by a newer one hands its freshness (scroll, focus) on

async function render(fresh = false) {
  const ticket = ++renders;
  owedFresh = fresh = fresh || owedFresh;
  const [screen, params] = screenFor(session.state());
  let mod = screen;
  if (typeof screen === 'function') {
    try {
      mod = await screen();
    } catch (e) {
      if (!(e instanceof TypeError)) throw e; // TypeError: not fetched (offline before it was cached)
      mod = { render: () => h('p', { class: 'card error', role: 'alert' }, t('screen.failed')) };
    }
  }
  const node = await mod.render({ params, fresh, navigate, rerender: () => render(false) });
  if (ticket !== renders) return; // a newer render (another screen, say) started meanwhile: it wins
  owedFresh = false;
  const el = main();
  const scroll = fresh ? 0 : window.scrollY;
  clear(el).append(node);
  renderChrome();
  const heading = el.querySelector('h1');
  document.title = heading ? `${heading.textContent} – ${t('app.name')}` : t('app.name');
  if (fresh) {
    window.scrollTo(0, scroll);
    const autofocus = el.querySelector('input');
    if (autofocus && session.state() !== 'unlocked') autofocus.focus();
    else el.focus({ preventScroll: true });
  } else {
    window.scrollTo(0, scroll);
  }
}

function networkBadge() {
  if (!navigator.onLine) return ['offline', t('net.offline')];
  if (reachable() === false) return ['unreachable', t('net.unreachable')];
  return ['online', t('net.online')];
}

function ageBadge() {
  if (!copyAsOf) return ['none', t('age.none')];
  const minutes = (Date.now() - new Date(copyAsOf).getTime()) / 60000;
  const s = session.settings();
  const level = minutes > s.copy_age_alert_minutes ? 'alert' : minutes > s.copy_age_warn_minutes ? 'warn' : 'fresh';
  const sameDay = new Date(copyAsOf).toDateString() === new Date().toDateString();
  const text = sameDay ? t('age.copy', { time: fmtTime(copyAsOf), age: ageText(copyAsOf) })
    : t('age.copy_old', { date: new Date(copyAsOf).toLocaleDateString(lang() === 'en' ? 'en-GB' : 'sv-SE', { day: 'numeric', month: 'short' }), time: fmtTime(copyAsOf), age: ageText(copyAsOf) });
  const suffix = level === 'alert' ? ` – ${t('age.alert')}` : level === 'warn' ? ` – ${t('age.warn')}` : '';
  return [level, text + suffix];
}

function renderChrome() {
  const [net, netText] = networkBadge();
  const [age, text] = ageBadge();
  const s = outbox.status();
  const bar = document.getElementById('statusbar');
  bar.replaceChildren(...[
    h('span', { class: `pill net-${net}`, id: 'net-state' }, netText),
    h('span', { class: `pill age-${age}`, id: 'copy-age' }, text),
    h('a', { class: `pill pending-${s.pending ? 'some' : 'none'}`, id: 'pending-count', href: '#/sync' },
      s.pending ? t('pending.some', { n: s.pending }) : t('pending.none')),
    s.rejected ? h('a', { class: 'pill rejected', href: '#/sync' }, t('pending.rejected', { n: s.rejected })) : null,
    session.needsLogin() ? h('a', { class: 'pill alert', href: '#/login', id: 'relogin' }, t('net.relogin')) : null,
  ].filter(Boolean));
  const unlocked = session.state() === 'unlocked';
  const nav = document.getElementById('nav');
  nav.hidden = !unlocked;
  const current = location.hash || '#/today';
  nav.replaceChildren(h('ul', {}, NAV.map(([href, key]) => h('li', {},
    h('a', { href, 'aria-current': current === href ? 'page' : null }, t(key))))));
  const tools = document.getElementById('tools');
  const other = LANGS.find((l) => l !== lang());
  tools.replaceChildren(...[
    h('button', { type: 'button', class: 'tool', lang: other, onclick: () => setLang(other).then(() => render(false)) }, t(`lang.${other}`)),
    unlocked ? h('button', { type: 'button', class: 'tool', id: 'lock', onclick: () => session.lock() }, t('nav.lock')) : null,
  ].filter(Boolean));
  document.querySelector('.skip').textContent = t('skip');
}

async function refreshAge() {
  copyAsOf = await shift.copyAsOf();
  renderChrome();
}

async function pull() {
  if (session.state() !== 'unlocked' || !navigator.onLine) return;
  const result = await shift.refresh();
  if (result === 'ok' && ['today', 'print'].some((r) => (location.hash || '#/today').includes(r))) render(false);
  await refreshAge();
}

async function onSession(state) {
  if (state === 'unlocked') {
    await Promise.all([shift.load(), outbox.loadJournal()]);
    const pulled = pull(); // on its way while the screen is drawn
    await render(true);
    pulled.finally(() => warm(visit, client, sync, postreg, print, pushView)); // not competing with the pull
    push().then((p) => p.refresh(session.token(), lang())).catch(() => {}); // the subscription follows this login
  } else {
    shift.forget();
    await outbox.refresh();
    await render(true);
    warm(today, push); // the first screen after the PIN
  }
  await refreshAge();
}

function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  let reloading = false;
  let accepted = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!accepted || reloading) return;
    reloading = true;
    location.reload();
  });
  const offer = (worker) => {
    const el = document.getElementById('update');
    el.replaceChildren(h('span', {}, t('update.ready')), h('button', {
      type: 'button', class: 'primary', id: 'update-now',
      onclick: () => { accepted = true; worker.postMessage({ type: 'skip-waiting' }); },
    }, t('update.reload')));
    el.hidden = false;
  };
  navigator.serviceWorker.register('/sw.js').then((reg) => {
    if (reg.waiting && navigator.serviceWorker.controller) offer(reg.waiting);
    reg.addEventListener('updatefound', () => {
      const worker = reg.installing;
      worker.addEventListener('statechange', () => {
        if (worker.state === 'installed' && navigator.serviceWorker.controller) offer(worker);
      });
    });
  }).catch(() => toast(t('sw.failed')));
}

async function askPersistence() {
  if (!navigator.storage || !navigator.storage.persist) return;
  persisted = (await navigator.storage.persisted()) || (await navigator.storage.persist());
  document.documentElement.dataset.persisted = String(persisted);
  if (!persisted) toast(t('storage.refused')); // the details stay on the Sync screen
}

async function boot() {
  await Promise.all([loadCatalogs(), session.init()]); // the texts are preloaded; opening IndexedDB is not
  registerServiceWorker();
  session.onChange(onSession);
  onReachability(renderChrome);
  outbox.onChange(() => {
    renderChrome();
    // Screens that only show outbox state follow it live; others keep what the worker is typing.
    if (session.state() === 'unlocked' && /^#\/(sync|today)?$/.test(location.hash || '#/')) render(false);
  });
  window.addEventListener('hashchange', () => { if (location.hash !== lastHash) { lastHash = location.hash; render(true); } });
  window.addEventListener('online', () => { renderChrome(); pull(); });
  window.addEventListener('offline', renderChrome);
  ['pointerdown', 'keydown', 'touchstart'].forEach((ev) => document.addEventListener(ev, session.touch, { passive: true }));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') { session.checkIdle(); pull(); }
  });
  setInterval(() => { session.checkIdle(); renderChrome(); }, 15000);
  setInterval(pull, PULL_EVERY_MS);
  lastHash = location.hash;
  await onSession(session.state());
  outbox.start();
  askPersistence().then(renderChrome);
}

boot();
