// Access-log review: search by client or user and period, export as CSV, and document that a check was made.
import { api, download, el, fmtDateTime, fmtNumber, showError, startPage } from './shell.js';
import { addMessages, t } from './i18n.js';

addMessages({
  sv: {
    'log.title': 'Granskning av åtkomstloggen',
    'log.lead': 'Vem har öppnat vilken brukares uppgifter, när, från vilken enhet och om det skedde offline (HSLF-FS 2016:40 4 kap. 9 §).',
    'log.otherUnit': 'Annan enhet (id {id})',
    'log.searchTitle': 'Sök', 'log.client': 'Brukare', 'log.user': 'Användare', 'log.all': 'Alla',
    'log.from': 'Från och med', 'log.to': 'Till och med', 'log.outcome': 'Utfall', 'log.allowed': 'Tillåten',
    'log.denied': 'Nekad', 'log.search': 'Sök', 'log.export': 'Exportera CSV', 'log.resultTitle': 'Resultat',
    'log.more': 'Visa fler', 'log.checksTitle': 'Dokumenterade kontroller',
    'log.note': 'Vad kontrollerades och vad kom fram?',
    'log.noteHint': 'Kontrollen gäller perioden och urvalet i sökningen ovan.',
    'log.record': 'Registrera att kontrollen är gjord',
    'log.summary': '{total} händelser {from} – {to}: {denied} nekade, {offline} registrerade offline. Loggar sparas i {years} år.',
    'log.none': 'Inga händelser i urvalet.',
    'log.overdue': 'En kontroll ska göras var {n}:e dag. Ingen kontroll är gjord i tid – gör en nu.',
    'log.nextDue': 'Nästa kontroll senast {date}.',
    'log.saved': 'Kontrollen är registrerad ({n} händelser granskade).',
    'col.when': 'Tidpunkt', 'col.who': 'Användare', 'col.client': 'Brukare', 'col.action': 'Åtgärd',
    'col.device': 'Enhet', 'col.offline': 'Offline', 'col.unit': 'Vårdenhet', 'col.outcome': 'Utfall',
    'col.checkedAt': 'Kontrollerad', 'col.checkedBy': 'Av', 'col.period': 'Period', 'col.rows': 'Granskade',
    'col.note': 'Resultat', 'yes': 'ja', 'no': 'nej',
    'action.sync_pull': 'Hämtade passet (offline-kopia)', 'action.read_client': 'Öppnade brukaren',
    'action.open_overview': 'Öppnade översikt', 'action.open_person_card': 'Öppnade personkort',
    'action.open_care_plan': 'Öppnade genomförandeplan', 'action.open_medication_list': 'Öppnade läkemedelslista',
    'action.access_log_review': 'Granskade loggen', 'action.access_log_export': 'Exporterade loggen',
    'action.registrations_export': 'Exporterade registreringar',
  },
  en: {
    'log.title': 'Access log review',
    'log.lead': 'Who opened which client\'s record, when, from which device, and whether offline (HSLF-FS 2016:40 ch. 4 § 9).',
    'log.otherUnit': 'Another unit (id {id})',
    'log.searchTitle': 'Search', 'log.client': 'Client', 'log.user': 'User', 'log.all': 'All',
    'log.from': 'From', 'log.to': 'To (inclusive)', 'log.outcome': 'Outcome', 'log.allowed': 'Allowed',
    'log.denied': 'Denied', 'log.search': 'Search', 'log.export': 'Export CSV', 'log.resultTitle': 'Results',
    'log.more': 'Show more', 'log.checksTitle': 'Documented checks',
    'log.note': 'What was checked and what was found?',
    'log.noteHint': 'The check covers the period and selection of the search above.',
    'log.record': 'Record that the check was made',
    'log.summary': '{total} entries {from} – {to}: {denied} denied, {offline} recorded offline. Logs are kept {years} years.',
    'log.none': 'No entries in this selection.',
    'log.overdue': 'A check is due every {n} days. None was made in time – do one now.',
    'log.nextDue': 'Next check due by {date}.',
    'log.saved': 'The check is recorded ({n} entries reviewed).',
    'col.when': 'Time', 'col.who': 'User', 'col.client': 'Client', 'col.action': 'Action', 'col.device': 'Device',
    'col.offline': 'Offline', 'col.unit': 'Unit', 'col.outcome': 'Outcome', 'col.checkedAt': 'Checked',
    'col.checkedBy': 'By', 'col.period': 'Period', 'col.rows': 'Reviewed', 'col.note': 'Finding', 'yes': 'yes', 'no': 'no',
    'action.sync_pull': 'Downloaded the shift (offline copy)', 'action.read_client': 'Opened the client',
    'action.open_overview': 'Opened overview', 'action.open_person_card': 'Opened person card',
    'action.open_care_plan': 'Opened care plan', 'action.open_medication_list': 'Opened medication list',
    'action.access_log_review': 'Reviewed the log', 'action.access_log_export': 'Exported the log',
    'action.registrations_export': 'Exported registrations',
  },
});

const form = document.getElementById('search');
let offset = 0;

function actionText(action) {
  const text = t(`action.${action}`);
  return text === `action.${action}` ? action : text;
}

function criteria() {
  const data = Object.fromEntries(new FormData(form));
  return { client_id: data.client_id, user_id: data.user_id, from: data.from, to: data.to, outcome: data.outcome };
}

function localDate(date) {
  return date.toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
}

function rowOf(r) {
  return el('tr', { class: r.outcome === 'denied' ? 'alert' : null },
    el('td', {}, fmtDateTime(r.at)),
    el('td', {}, r.user ? (r.user.other_unit ? t('log.otherUnit', { id: r.user.id })
      : `${r.user.display_name} (${r.user.username})`) : '–'),
    el('td', {}, r.client ? (r.client.other_unit ? t('log.otherUnit', { id: r.client.id })
      : `${r.client.name}, ${r.client.personal_number}`) : '–'),
    el('td', {}, actionText(r.action)),
    el('td', {}, el('span', { class: `pill ${r.outcome === 'denied' ? 'alert' : 'ok'}` },
      r.outcome === 'denied' ? t('log.denied') : t('log.allowed'))),
    el('td', {}, r.device_id || '–'),
    el('td', {}, r.offline ? t('yes') : t('no')),
    el('td', {}, r.unit || '–'));
}

async function search(append = false) {
  const error = document.getElementById('error');
  try {
    offset = append ? offset : 0;
    const body = await api('/api/dashboard/access-log', { params: { ...criteria(), offset } });
    error.replaceChildren();
    const years = Math.round(body.settings.retention_days / 365);
    document.getElementById('summary').textContent = t('log.summary', { total: fmtNumber(body.counts.total),
      from: body.from, to: body.to, denied: fmtNumber(body.counts.denied), offline: fmtNumber(body.counts.offline), years });
    const box = document.getElementById('rows');
    if (!append) {
      box.replaceChildren(body.rows.length ? el('table', {}, el('caption', { class: 'visually-hidden' }, t('log.resultTitle')),
        el('thead', {}, el('tr', {}, ['col.when', 'col.who', 'col.client', 'col.action', 'col.outcome', 'col.device',
          'col.offline', 'col.unit'].map((k) => el('th', { scope: 'col' }, t(k))))),
        el('tbody', {})) : el('p', {}, t('log.none')));
    }
    const tbody = box.querySelector('tbody');
    if (tbody) tbody.append(...body.rows.map(rowOf));
    offset += body.rows.length;
    document.getElementById('more').hidden = offset >= body.counts.total;
    document.body.dataset.loaded = 'true';
  } catch (err) {
    showError(error, err);
  }
}

async function loadChecks() {
  const body = await api('/api/dashboard/access-checks');
  const status = document.getElementById('checks-status');
  status.replaceChildren(body.overdue
    ? el('p', { class: 'message error' }, t('log.overdue', { n: body.interval_days }))
    : el('p', {}, t('log.nextDue', { date: fmtDateTime(body.next_due_at) })));
  const box = document.getElementById('checks');
  box.replaceChildren(body.checks.length ? el('table', {}, el('caption', { class: 'visually-hidden' }, t('log.checksTitle')),
    el('thead', {}, el('tr', {}, ['col.checkedAt', 'col.checkedBy', 'col.period', 'col.rows', 'col.note']
      .map((k) => el('th', { scope: 'col' }, t(k))))),
    el('tbody', {}, body.checks.map((c) => el('tr', {},
      el('td', {}, fmtDateTime(c.checked_at)), el('td', {}, c.checked_by.display_name),
      el('td', {}, `${localDate(new Date(c.period_from))} – ${localDate(new Date(new Date(c.period_to) - 1))}`),
      el('td', { class: 'num' }, fmtNumber(c.rows_reviewed)), el('td', {}, c.note))))) : '');
}

async function fillSelects() {
  const people = await api('/api/dashboard/people');
  document.getElementById('client_id').append(...people.clients.map((c) => el('option', { value: c.id }, c.name)));
  document.getElementById('user_id').append(...people.users.map((u) => el('option', { value: u.id },
    `${u.display_name} (${u.username})`)));
}

await startPage({ page: 'access-log.html' });
const today = new Date();
form.to.value = localDate(today);
form.from.value = localDate(new Date(today.getTime() - 6 * 86400000));
form.addEventListener('submit', (event) => { event.preventDefault(); search(); });
document.getElementById('more').addEventListener('click', () => search(true));
document.getElementById('export').addEventListener('click', async () => {
  try {
    await download('/api/dashboard/access-log.csv', criteria(), 'atkomstlogg.csv');
  } catch (err) {
    showError(document.getElementById('error'), err);
  }
});
document.getElementById('check-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const message = document.getElementById('check-message');
  const c = criteria();
  try {
    const saved = await api('/api/dashboard/access-checks', { method: 'POST', body: {
      from: c.from, to: c.to, note: event.currentTarget.note.value.trim(),
      client_id: c.client_id ? Number(c.client_id) : null, user_id: c.user_id ? Number(c.user_id) : null } });
    message.replaceChildren(el('p', { class: 'message ok' }, t('log.saved', { n: fmtNumber(saved.rows_reviewed) })));
    event.target.reset();
    await loadChecks();
  } catch (err) {
    showError(message, err);
  }
});
try {
  await fillSelects();
  await Promise.all([search(), loadChecks()]);
} catch (err) {
  showError(document.getElementById('error'), err);
}
