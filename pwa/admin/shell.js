// The manager and administrator shell: login through /api/auth/token, the Bearer token kept in
// sessionStorage (gone when the tab closes), one fetch helper, the header and menu, small DOM helpers.
import { NAV } from './nav.js';
import { lang, setLang, t, translatePage } from './i18n.js';

const SESSION_KEY = 'hemvard-admin-session';
const DEVICE_KEY = 'hemvard-admin-device';
const STAFF_ROLES = ['manager', 'admin'];
const TZ = 'Europe/Stockholm';

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || t('error.generic'));
    this.status = status;
    this.code = body && body.code;
    this.errors = (body && body.errors) || {};
  }
}

// A desktop browser enrols like a phone does: one stable random id per browser profile and person
// (the server binds a device id to one user, so a shared office computer keeps one id per login name).
export function deviceId(username) {
  let ids = {};
  try { ids = JSON.parse(localStorage.getItem(DEVICE_KEY)) || {}; } catch { ids = {}; }
  if (!ids[username]) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    ids[username] = 'web-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    localStorage.setItem(DEVICE_KEY, JSON.stringify(ids));
  }
  return ids[username];
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY));
  } catch {
    return null;
  }
}

export function logout() {
  sessionStorage.removeItem(SESSION_KEY);
  location.assign(`login.html`);
}

export async function login(username, password) {
  const body = await request('/api/auth/token', {
    method: 'POST',
    body: { username, password, device_id: deviceId(username), device_name: 'Webbläsare (ledning)' },
    auth: false,
  });
  if (!STAFF_ROLES.includes(body.user.role)) throw new ApiError(403, { message: t('login.notAllowed') });
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: body.token, user: body.user,
    expires_at: body.expires_at, settings: body.settings }));
  return body.user;
}

function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') query.set(key, value);
  }
  const text = query.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

async function request(path, { method = 'GET', body, params, auth = true, raw = false } = {}) {
  const headers = { Accept: raw ? '*/*' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) {
    const current = session();
    if (!current) return expired();
    headers.Authorization = `Bearer ${current.token}`;
  }
  let response;
  try {
    response = await fetch(withQuery(path, params), { method, headers,
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { message: t('error.network') });
  }
  if (response.status === 401 && auth) return expired();
  if (!response.ok) {
    let payload = null;
    try { payload = await response.json(); } catch { /* not JSON: keep the generic message */ }
    throw new ApiError(response.status, payload);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

function expired() {
  sessionStorage.removeItem(SESSION_KEY);
  const next = encodeURIComponent(location.pathname.split('/').pop() + location.search);
  location.assign(`login.html?expired=1&next=${next}`);
  return new Promise(() => {}); // the page is going away; callers never continue
}

// JSON API call with the Bearer token; throws ApiError with the server's Swedish message.
export function api(path, options = {}) {
  return request(path, options);
}

// Fetch a file (CSV) with the Bearer token and hand it to the browser as a download.
export async function download(path, params, fallbackName) {
  const response = await request(path, { params, raw: true });
  const disposition = response.headers.get('Content-Disposition') || '';
  const match = /filename="?([^";]+)"?/.exec(disposition);
  const url = URL.createObjectURL(await response.blob());
  const link = el('a', { href: url, download: match ? match[1] : fallbackName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// el('td', {class: 'num'}, '12') — attributes as properties-or-attributes, children as nodes or text.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Put server-rendered SVG into the page as real SVG nodes (parsed as XML, so no script runs).
export function insertSvg(container, svgText) {
  const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
  const svg = doc.documentElement;
  if (svg.nodeName !== 'svg') throw new Error('not an SVG');
  container.replaceChildren(document.importNode(svg, true));
}

export function fmtDateTime(iso) {
  if (!iso) return t('never');
  return new Date(iso).toLocaleString(lang() === 'en' ? 'en-GB' : 'sv-SE',
    { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

export function fmtAge(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const minutes = Math.max(0, Math.floor(seconds / 60));
  if (minutes < 60) return t('minutes.short', { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t('hours.short', { h: hours, m: minutes % 60 });
  return t('days.short', { d: Math.floor(hours / 24), h: hours % 24 });
}

export function fmtNumber(value) {
  return value === null || value === undefined ? '–' : Number(value).toLocaleString(lang() === 'en' ? 'en-GB' : 'sv-SE');
}

function renderHeader(user, page) {
  let header = document.querySelector('header.admin-header');
  if (!header) {
    header = el('header', { class: 'admin-header' });
    document.body.prepend(header);
  }
  const links = NAV.filter((item) => item.roles.includes(user.role)).map((item) => el('li', {},
    el('a', { href: item.href, 'aria-current': item.href === page ? 'page' : null }, t(item.key))));
  const langButton = el('button', { type: 'button', class: 'secondary', lang: lang() === 'sv' ? 'en' : 'sv',
    onclick: () => { setLang(lang() === 'sv' ? 'en' : 'sv'); location.reload(); } }, t('nav.lang'));
  const logoutButton = el('button', { type: 'button', onclick: logout }, t('nav.logout'));
  header.replaceChildren(
    el('a', { class: 'skip-link', href: '#main' }, t('skip')),
    el('div', { class: 'bar' },
      el('a', { class: 'brand', href: 'index.html' }, t('app.name')),
      el('span', { class: 'who' }, `${user.display_name} · ${t(`role.${user.role}`)} · ${user.unit.name}`),
      langButton, logoutButton),
    el('nav', { class: 'admin-nav bar', 'aria-label': t('nav.label') }, el('ul', {}, links)));
}

// Every admin page starts with: const user = await startPage({page: 'index.html', roles: [...]}).
// No session → login page (and back here after); wrong role → a clear message, no data requested.
export async function startPage({ page, roles = STAFF_ROLES }) {
  translatePage();
  const current = session();
  if (!current) {
    location.assign(`login.html?next=${encodeURIComponent(page + location.search)}`);
    return new Promise(() => {});
  }
  renderHeader(current.user, page);
  if (!roles.includes(current.user.role)) {
    const main = document.getElementById('main');
    main.replaceChildren(el('p', { class: 'message error', role: 'alert' }, t('login.notAllowed')));
    return new Promise(() => {});
  }
  return current.user;
}

export function showError(container, error) {
  container.replaceChildren(el('p', { class: 'message error', role: 'alert' },
    error instanceof ApiError ? error.message : t('error.generic')));
}
