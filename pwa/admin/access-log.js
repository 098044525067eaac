// Access-log review: search by client or user and period, export as CSV, and document that a check was made.
import { api, download, el, fmtDateTime, fmtNumber, showError, startPage } from './shell.js';
import { t } from './i18n.js';

const form = document.getElementById('search');
let next = null; // the next page: after the last row shown (the answer's `next`)

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

const devices = new Map(); // the unit's devices by id → what a reviewer can recognise (people, below)

/** A device by its name and enrolment day; one the unit does not have (another unit's, say) by a short id. */
function deviceText(id) {
  if (!id) return '–';
  const d = devices.get(id);
  if (!d) return t('log.otherDevice', { id: id.slice(0, 8) });
  return `${d.name || t('log.unnamedDevice')} (${t('log.enrolled', { date: localDate(new Date(d.enrolled_at)) })})`;
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
    el('td', {}, deviceText(r.device_id)),
    el('td', {}, r.offline ? t('yes') : t('no')),
    el('td', {}, r.unit || '–'));
}

async function search(append = false) {
  const error = document.getElementById('error');
  try {
    const body = await api('/api/dashboard/access-log', { params: { ...criteria(), ...(append ? next : {}) } });
    error.replaceChildren();
    const years = Math.round(body.settings.retention_days / 365);
    document.getElementById('summary').textContent = t('log.summary', { total: fmtNumber(body.counts.total),
      from: body.from, to: body.to, denied: fmtNumber(body.counts.denied), offline: fmtNumber(body.counts.offline), years });
    const box = document.getElementById('rows');
    if (!append) {
      box.replaceChildren(body.rows.length ? el('table', {}, el('caption', { class: 'visually-hidden' }, t('log.resultTitle')),
        el('thead', {}, el('tr', {}, ['col.when', 'col.who', 'col.client', 'col.action', 'col.outcome', 'log.col.device',
          'col.offline', 'col.unit'].map((k) => el('th', { scope: 'col' }, t(k))))),
        el('tbody', {})) : el('p', {}, t('log.none')));
    }
    const tbody = box.querySelector('tbody');
    if (tbody) tbody.append(...body.rows.map(rowOf));
    next = body.next;
    document.getElementById('more').hidden = !next;
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
  people.devices.forEach((d) => devices.set(d.id, d));
  // With the address: two clients of one name in a unit are told apart.
  document.getElementById('client_id').append(...people.clients.map((c) => el('option', { value: c.id },
    c.address ? `${c.name} – ${c.address}` : c.name)));
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
