/* The app shell: boots the session, draws the always-visible status line (one line; a tap opens the details, the
 * language and who is logged in) and the one-row menu, routes between screens. Exports and rules: docs/pwa.md,
 * "Modules". */
import { PULL_EVERY_MS } from './config.js';
import { ageText, clear, fmtTime, h } from './dom.js';
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
let panelOpen = false;
let drawn = ''; // the status line is redrawn only when it changes: a live region speaks each redraw

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
    const anchor = el.querySelector('[data-open-at]');
    if (anchor && document.getElementById('update').hidden) anchor.scrollIntoView({ block: 'start' }); // a notice first
    else window.scrollTo(0, scroll);
    const autofocus = el.querySelector('input');
    if (autofocus && session.state() !== 'unlocked') autofocus.focus();
    else el.focus({ preventScroll: true });
  } else {
    window.scrollTo(0, scroll);
  }
}

function networkState() {
  if (!navigator.onLine) return 'offline';
  return reachable() === false ? 'unreachable' : 'online';
}

/** [level, short text for the status line, the whole sentence for the details]. */
function ageState() {
  if (!copyAsOf) return ['none', t('age.none_short'), t('age.none')];
  const minutes = (Date.now() - new Date(copyAsOf).getTime()) / 60000;
  const s = session.settings();
  const level = minutes > s.copy_age_alert_minutes ? 'alert' : minutes > s.copy_age_warn_minutes ? 'warn' : 'fresh';
  const sameDay = new Date(copyAsOf).toDateString() === new Date().toDateString();
  const text = sameDay ? t('age.copy', { time: fmtTime(copyAsOf), age: ageText(copyAsOf) })
    : t('age.copy_old', { date: new Date(copyAsOf).toLocaleDateString(lang() === 'en' ? 'en-GB' : 'sv-SE', { day: 'numeric', month: 'short' }), time: fmtTime(copyAsOf), age: ageText(copyAsOf) });
  const suffix = level === 'alert' ? ` – ${t('age.alert')}` : level === 'warn' ? ` – ${t('age.warn')}` : '';
  const short = level === 'fresh' && sameDay ? t('age.short', { time: fmtTime(copyAsOf) }) : t('age.short_old', { age: ageText(copyAsOf) });
  return [level, short, text + suffix];
}

function statusLine(net, age, ageShort, s) {
  return h('button', {
    type: 'button', class: 'status-line', id: 'status-toggle', 'aria-expanded': String(panelOpen), 'aria-controls': 'status-panel',
    onclick: () => { panelOpen = !panelOpen; drawn = ''; renderChrome(); },
  },
  h('span', { class: `net net-${net}`, id: 'net-state' }, t(`net.${net}`)),
  h('span', { class: `age age-${age}`, id: 'copy-age' }, ageShort),
  h('span', { class: `pending pending-${s.pending ? 'some' : 'none'}`, id: 'pending-count' },
    s.pending ? t('pending.some', { n: s.pending }) : t('pending.none')),
  s.rejected ? h('span', { class: 'pending rejected' }, t('pending.rejected', { n: s.rejected })) : null,
  h('span', { class: 'chevron', 'aria-hidden': 'true' }, panelOpen ? '▴' : '▾'));
}

function statusPanel(net, ageLong, s) {
  const who = session.user() || {};
  const other = LANGS.find((l) => l !== lang());
  return [
    who.display_name ? h('p', { id: 'who' }, t('who.logged_in', { name: who.display_name })) : null,
    h('p', { id: 'net-detail' }, t(`net.detail.${net}`)),
    h('p', { id: 'copy-age-detail' }, ageLong),
    h('p', { id: 'pending-detail' }, s.pending ? t('sync.pending', { n: s.pending }) : t('pending.none'),
      s.access ? ` ${t('pending.access', { n: s.access })}` : ''),
    persisted === false ? h('p', { id: 'storage-state' }, t('storage.refused_short')) : null,
    h('div', { class: 'panel-actions' },
      session.state() === 'unlocked' ? h('a', { class: 'button-link', href: '#/sync', onclick: () => { panelOpen = false; } }, t('nav.sync')) : null,
      h('button', { type: 'button', lang: other, id: 'lang-switch', onclick: () => setLang(other).then(() => { drawn = ''; render(false); }) }, t(`lang.${other}`))),
  ];
}

function renderChrome() {
  const net = networkState();
  const [age, ageShort, ageLong] = ageState();
  const s = outbox.status();
  const unlocked = session.state() === 'unlocked';
  const current = location.hash || '#/today';
  const key = JSON.stringify([lang(), net, age, ageShort, ageLong, s.pending, s.access, s.rejected, panelOpen, unlocked,
    session.needsLogin(), persisted, (session.user() || {}).display_name, current]);
  document.querySelector('.skip').textContent = t('skip');
  if (key === drawn) return;
  drawn = key;
  const focused = document.activeElement && document.activeElement.id === 'status-toggle';
  document.getElementById('statusbar').replaceChildren(statusLine(net, age, ageShort, s));
  if (focused) document.getElementById('status-toggle').focus(); // a redraw must not drop the keyboard's place
  const panel = document.getElementById('status-panel');
  panel.hidden = !panelOpen;
  panel.replaceChildren(...(panelOpen ? statusPanel(net, ageLong, s) : []).filter(Boolean));
  const nav = document.getElementById('nav');
  nav.hidden = !unlocked;
  nav.replaceChildren(h('ul', {}, NAV.map(([href, key]) => h('li', {},
    h('a', { href, 'aria-current': current === href ? 'page' : null }, t(key))))));
  document.getElementById('tools').replaceChildren(...[
    session.needsLogin() ? h('a', { class: 'tool alert', href: '#/login', id: 'relogin' }, t('net.relogin')) : null,
    unlocked ? h('button', { type: 'button', class: 'tool', id: 'lock', onclick: () => session.lock() }, t('nav.lock')) : null,
  ].filter(Boolean));
}

async function refreshAge() {
  copyAsOf = await shift.copyAsOf();
  renderChrome();
}

/** Shown once, at the top of the page (not over it); `OK` puts it away and goes back to where the screen opens. */
function notice(text) {
  const el = document.getElementById('update');
  el.replaceChildren(h('span', {}, text), h('button', {
    type: 'button',
    onclick: () => { el.hidden = true; main().querySelector('[data-open-at]')?.scrollIntoView({ block: 'start' }); },
  }, t('notice.ok')));
  el.hidden = false;
  window.scrollTo(0, 0);
}

async function pull() {
  if (session.state() !== 'unlocked' || !navigator.onLine) return;
  const first = !shift.hasCopy();
  const result = await shift.refresh();
  // The first copy is drawn as if navigated to: Today then opens at the current visit.
  if (result === 'ok' && ['today', 'print'].some((r) => (location.hash || '#/today').includes(r))) render(first);
  await refreshAge();
}

async function onSession(state) {
  if (state === 'unlocked') {
    await Promise.all([shift.load(), outbox.loadJournal()]);
    if (persisted === null) askPersistence();
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
  }).catch(() => notice(t('sw.failed')));
}

// Persistent storage: asked once after the first unlock, a refusal explained once, then stated in the details.
async function askPersistence() {
  if (!navigator.storage || !navigator.storage.persist) return;
  persisted = await navigator.storage.persisted();
  if (!persisted && !localStorage.getItem('storage-asked')) {
    localStorage.setItem('storage-asked', '1');
    persisted = await navigator.storage.persist();
    if (!persisted) notice(t('storage.refused_detail'));
  }
  document.documentElement.dataset.persisted = String(persisted);
  renderChrome();
}

async function boot() {
  await Promise.all([loadCatalogs(), session.init()]); // the texts are preloaded; opening IndexedDB is not
  registerServiceWorker();
  session.onChange(onSession);
  onReachability(renderChrome);
  shift.onRefresh(refreshAge); // "Synka nu" and the pulls: the data age follows at once
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
}

boot();
