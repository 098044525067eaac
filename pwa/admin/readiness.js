// Readiness: each phone's offline-copy age against the limit, coverage of the coming shift, and
// "if the system went down now, who would be without data?" as one number and a list.
import { api, el, fmtAge, fmtDateTime, fmtNumber, insertSvg, showError, startPage } from './shell.js';
import { addMessages, t } from './i18n.js';

addMessages({
  sv: {
    'ready.title': 'Beredskap: offline-kopian på telefonerna',
    'ready.lead': 'Den dagliga kontrollen av läskopian, automatiskt: hur gammal är kopian på varje telefon och räcker den för det kommande passet?',
    'ready.withoutTitle': 'Om systemet gick ner nu', 'ready.statesTitle': 'Telefonernas kopior',
    'ready.devicesTitle': 'Per telefon',
    'ready.without': 'medarbetare skulle stå utan data för sitt pass (närmaste {h} h)',
    'ready.allCovered': 'Alla med pass de närmaste {h} timmarna har en kopia som täcker passet.',
    'ready.reason.no_copy': 'ingen kopia på någon telefon', 'ready.reason.copy_too_short': 'kopian räcker inte hela passet',
    'ready.shift': 'pass {start}–{end}, {n} besök',
    'ready.limit': 'Gräns för kopians ålder: {n} min.',
    'col.worker': 'Medarbetare', 'col.device': 'Telefon', 'col.copyAge': 'Kopians ålder', 'col.covers': 'Täcker till',
    'col.shift': 'Kommande pass', 'col.status': 'Status', 'col.reason': 'Orsak',
    'state.ok': 'aktuell', 'state.stale': 'för gammal', 'state.short': 'räcker inte', 'state.missing': 'ingen kopia',
    'ready.noShift': 'inget pass', 'ready.noDevices': 'Inga telefoner registrerade i enheten.',
  },
  en: {
    'ready.title': 'Readiness: the offline copy on the phones',
    'ready.lead': 'The daily check of the read-only copy, automated: how old is the copy on each phone, and does it cover the coming shift?',
    'ready.withoutTitle': 'If the system went down now', 'ready.statesTitle': 'Offline copies',
    'ready.devicesTitle': 'Per phone',
    'ready.without': 'workers would have no data for their shift (next {h} h)',
    'ready.allCovered': 'Everyone with a shift in the next {h} hours has a copy that covers it.',
    'ready.reason.no_copy': 'no copy on any phone', 'ready.reason.copy_too_short': 'the copy ends before the shift does',
    'ready.shift': 'shift {start}–{end}, {n} visits',
    'ready.limit': 'Copy age limit: {n} min.',
    'col.worker': 'Worker', 'col.device': 'Phone', 'col.copyAge': 'Copy age', 'col.covers': 'Covers until',
    'col.shift': 'Coming shift', 'col.status': 'Status', 'col.reason': 'Reason',
    'state.ok': 'current', 'state.stale': 'too old', 'state.short': 'too short', 'state.missing': 'no copy',
    'ready.noShift': 'no shift', 'ready.noDevices': 'No phones enrolled in this unit.',
  },
});

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
      el('td', {}, el('span', { class: `pill ${TONE[d.state]}` }, t(`state.${d.state}`))))))));
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
