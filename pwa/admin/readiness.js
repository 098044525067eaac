// Readiness: each phone's offline-copy age against the limit, coverage of the coming shift, and
// "if the system went down now, who would be without data?" as one number and a list.
import { api, el, fmtAge, fmtDateTime, fmtNumber, insertSvg, showError, startPage } from './shell.js';
import { t } from './i18n.js';

const TONE = { ok: 'ok', stale: 'alert', short: 'warn', missing: 'alert' };

function shiftText(shift) {
  if (!shift) return t('ready.noShift');
  return t('ready.shift', { start: fmtDateTime(shift.start), end: fmtDateTime(shift.end).slice(-5), n: shift.visits });
}

function render(body) {
  const hours = body.settings.shift_hours;
  const w = body.without_data;
  document.getElementById('without-figure').replaceChildren(el('li', { class: `figure ${w.count ? 'alert' : 'ok'}` },
    el('span', { class: 'value' }, fmtNumber(w.count)), el('span', { class: 'label' }, t('ready.without', { h: hours }))));
  const list = document.getElementById('without-list');
  if (!w.count) {
    list.replaceChildren(el('p', {}, t('ready.allCovered', { h: hours })));
  } else {
    list.replaceChildren(el('div', { class: 'table-wrap', tabindex: '0' }, el('table', {},
      el('caption', { class: 'visually-hidden' }, t('ready.withoutTitle')),
      el('thead', {}, el('tr', {}, [t('col.worker'), t('col.shift'), t('col.reason')].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, w.workers.map((x) => el('tr', { class: 'alert' },
        el('th', { scope: 'row' }, x.worker.display_name), el('td', {}, shiftText(x.shift)),
        el('td', {}, t(`ready.reason.${x.reason}`))))))));
  }
  insertSvg(document.getElementById('chart-states-box'), body.charts.states);
  const box = document.getElementById('devices');
  if (!body.devices.length) return box.replaceChildren(el('p', {}, t('ready.noDevices')));
  box.replaceChildren(el('p', {}, t('ready.limit', { n: body.copy_age_limit_minutes })), el('table', {},
    el('caption', { class: 'visually-hidden' }, t('ready.devicesTitle')),
    el('thead', {}, el('tr', {}, [t('col.worker'), t('col.device'), t('col.copyAge'), t('col.covers'), t('col.shift'),
      t('col.status')].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, body.devices.map((d) => el('tr', { class: TONE[d.state] === 'ok' ? null : TONE[d.state] },
      el('th', { scope: 'row' }, d.worker.display_name), el('td', {}, d.device_name || d.device_id),
      el('td', {}, d.copy_age_seconds === null ? '–' : fmtAge(d.copy_age_seconds)),
      el('td', {}, d.covers_until ? fmtDateTime(d.covers_until) : '–'),
      el('td', {}, shiftText(d.shift)),
      el('td', {}, el('span', { class: `pill ${TONE[d.state]}` }, t(`ready.state.${d.state}`))))))));
}

async function load() {
  const error = document.getElementById('error');
  try {
    const body = await api('/api/dashboard/readiness');
    error.replaceChildren();
    document.getElementById('as-of').textContent = t('asOf', { time: fmtDateTime(body.as_of) });
    render(body);
    document.body.dataset.loaded = 'true';
  } catch (err) {
    showError(error, err);
  }
}

await startPage({ page: 'readiness.html' });
await load();
setInterval(load, 120000);
