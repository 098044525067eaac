/* Building DOM without innerHTML (no injection, CSP-friendly), and time formatting in the worker's language.
 *
 * Exports: h(tag, attrs, ...children), clear(el), fmtTime(iso), fmtDay(iso) ("måndag 7 december", lowercase),
 * fmtDayYear(iso), fmtDateTime(iso),
 * localDayKey(iso), announce(text), dayAndTimeToDate(day, "HH:MM"), ageText(iso).
 */
import { lang, t } from './i18n.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const locale = () => (lang() === 'en' ? 'en-GB' : 'sv-SE');

export const fmtTime = (iso) => new Date(iso).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
export const fmtDay = (iso) => new Date(iso).toLocaleDateString(locale(), { weekday: 'long', day: 'numeric', month: 'long' });
export const fmtDayYear = (iso) => new Date(iso).toLocaleDateString(locale(), { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
export const fmtDateTime = (iso) => `${new Date(iso).toLocaleDateString(locale(), { day: 'numeric', month: 'long' })} ${fmtTime(iso)}`;

export function localDayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

export function dayAndTimeToDate(dayIso, hhmm) {
  const d = new Date(dayIso);
  const [hh, mm] = hhmm.split(':').map(Number);
  d.setHours(hh, mm, 0, 0);
  return d;
}

/** For screen readers; the eye sees it on the tapped button, nothing floats over the screen. */
export function announce(text) {
  const el = document.getElementById('announce');
  el.textContent = '';
  requestAnimationFrame(() => { el.textContent = text; });
}

export function ageText(asOfIso, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - new Date(asOfIso).getTime()) / 60000));
  if (minutes < 1) return t('age.just_now');
  if (minutes < 60) return t('age.minutes', { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t('age.hours', { n: hours });
  return t('age.days', { n: Math.floor(hours / 24) });
}
