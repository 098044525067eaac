// Approval of a period's registrations (attestering) and the export of an approved period (CSV, JSON).
import { api, download, el, fmtDateTime, fmtNumber, showError, startPage } from './shell.js';
import { t } from './i18n.js';


const $ = (id) => document.getElementById(id);
const STATE = { performed: 'ok', partial: 'warn', not_registered: 'alert' };
const day = (n) => new Date(Date.now() - n * 86400000).toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
const clock = (iso) => (iso ? iso.slice(11, 16) : '–');
let user = null;

function field(id, label, input) {
  input.id = id;
  return el('div', { class: 'field' }, el('label', { for: id }, label), input);
}

const period = () => ({ from: $('ap-from').value, to: $('ap-to').value });

async function preview() {
  try {
    const body = await api('/api/loop/approvals/preview', { params: period() });
    const x = body.totals;
    $('ap-totals').replaceChildren(...[['ap.rows', x.visit_rows, ''], ['ap.performed', x.performed, 'ok'],
      ['ap.partial', x.partial, x.partial ? 'warn' : ''], ['ap.missing', x.not_registered, x.not_registered ? 'alert' : ''],
      ['ap.planned', x.planned_minutes, ''], ['ap.done', x.performed_minutes, ''],
      ['ap.ivDone', x.interventions_done, 'ok'], ['ap.ivNot', x.interventions_not_done, x.interventions_not_done ? 'warn' : '']]
      .map(([key, value, cls]) => el('li', { class: `figure ${cls}` }, el('span', { class: 'value' }, fmtNumber(value)),
        el('span', { class: 'label' }, t(key)))));
    const comment = el('input', { type: 'text', id: 'ap-comment', maxlength: 2000 });
    $('ap-approve').replaceChildren(
      body.open_conflicts ? el('p', { class: 'message error' }, t('ap.conflicts', { n: body.open_conflicts })) : '',
      body.open_gaps || body.open_quarantine ? el('p', { class: 'message error' }, t('ap.open', { gaps: body.open_gaps, q: body.open_quarantine })) : '',
      user.role === 'manager' ? el('div', { class: 'inline' }, field('ap-comment', t('ap.comment'), comment),
        el('button', { type: 'button', onclick: () => approve(comment.value) }, t('ap.approve'))) : el('p', {}, t('ap.managerOnly')),
      el('p', { id: 'ap-status', role: 'status' }));
    $('ap-visits').replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, ['date', 'planned', 'client', 'worker', 'performed', 'minutes', 'source', 'status']
        .map((k) => el('th', { scope: 'col' }, t(`ap.col.${k}`))))),
      el('tbody', {}, body.visits.map((r) => el('tr', { class: r.status === 'not_registered' ? 'alert' : null },
        el('td', {}, r.date), el('td', {}, `${clock(r.planned_start)}–${clock(r.planned_end)}`),
        el('td', {}, r.client_personal_number), el('td', {}, r.worker_username),
        el('td', {}, `${clock(r.started_at)}–${clock(r.ended_at)}`),
        el('td', { class: 'num' }, `${r.planned_minutes} / ${r.performed_minutes ?? '–'}`),
        el('td', {}, r.source ? t(`src.${r.source}`) : '–'),
        el('td', {}, el('span', { class: `pill ${STATE[r.status]}` }, t(`st.${r.status}`))))))));
  } catch (err) { showError($('error'), err); }
}

async function approve(comment) {
  try {
    await api('/api/loop/approvals', { method: 'POST', body: { ...period(), comment: comment || null } });
    $('ap-status').replaceChildren(el('span', { class: 'message ok' }, t('ap.approved')));
    await history();
  } catch (err) { showError($('ap-status'), err); }
}

async function history() {
  try {
    const body = await api('/api/loop/approvals');
    $('ap-lock').textContent = body.lock_date ? t('ap.lock', { date: body.lock_date }) : t('ap.noLock');
    if (!body.approvals.length) { $('ap-history').replaceChildren(el('p', {}, t('ap.none'))); return; }
    const exp = (a, path, params, label) => el('button', { type: 'button', class: 'secondary',
      onclick: () => download(`/api/loop/approvals/${a.id}/${path}`, params, `attest-${a.from}-${a.to}.${path.split('.')[1]}`)
        .catch((err) => showError($('error'), err)) }, t(label));
    $('ap-history').replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, ['period', 'by', 'lock', 'export'].map((k) => el('th', { scope: 'col' }, t(`ap.col.${k}`))))),
      el('tbody', {}, body.approvals.map((a) => el('tr', {},
        el('td', {}, `${a.from} – ${a.to}`), el('td', {}, `${a.approved_by.display_name || ''}, ${fmtDateTime(a.approved_at)}`),
        el('td', {}, a.lock_date_after),
        el('td', {}, exp(a, 'export.csv', { rows: 'visits' }, 'ap.csvVisits'), ' ',
          exp(a, 'export.csv', { rows: 'interventions' }, 'ap.csvInterventions'), ' ', exp(a, 'export.json', {}, 'ap.json')))))));
  } catch (err) { showError($('error'), err); }
}

user = await startPage({ page: 'approval.html' });
const form = $('ap-form');
form.replaceChildren(field('ap-from', t('ap.from'), el('input', { type: 'date', value: day(7), required: true })),
  field('ap-to', t('ap.to'), el('input', { type: 'date', value: day(1), required: true })),
  el('button', { type: 'submit' }, t('ap.show')));
form.addEventListener('submit', (event) => { event.preventDefault(); preview(); });
await Promise.all([history(), preview()]);
document.body.dataset.loaded = 'true';
