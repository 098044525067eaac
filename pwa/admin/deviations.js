// Deviations (avvikelser) of the unit: filter, open one, move it new → received → handled with a comment;
// below it, missed care (interventions not done) per day. Both download as CSV.
import { api, download, el, fmtDateTime, showError, startPage } from './shell.js';
import { t } from './i18n.js';


const $ = (id) => document.getElementById(id);
const PILL = { new: 'alert', received: 'warn', handled: 'ok' };
const today = new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
const daysAgo = (n) => new Date(Date.now() - n * 86400000).toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });

function field(id, label, input) {
  input.id = id;
  input.name = id;
  return el('div', { class: 'field' }, el('label', { for: id }, label), input);
}
const choice = (options) => el('select', {}, options.map(([value, label]) => el('option', { value }, label)));
const values = (form) => Object.fromEntries(new FormData(form).entries());
let labels = { statuses: {}, categories: {} };

function deviationForm(labels) {
  const form = $('dev-form');
  form.replaceChildren(
    field('from', t('f.from'), el('input', { type: 'date', value: daysAgo(29) })),
    field('to', t('f.to'), el('input', { type: 'date', value: today })),
    field('status', t('f.status'), choice([['', t('f.all')], ...Object.entries(labels.statuses)])),
    field('category', t('f.category'), choice([['', t('f.all')], ...Object.entries(labels.categories)])),
    field('offline', t('f.offline'), choice([['', t('f.all')], ['1', t('f.offlineYes')], ['0', t('f.offlineNo')]])),
    el('button', { type: 'submit' }, t('f.show')),
    el('button', { type: 'button', class: 'secondary', onclick: () => download('/api/loop/deviations.csv',
      values(form), 'avvikelser.csv').catch((err) => showError($('error'), err)) }, t('f.csv')));
  form.onsubmit = (event) => { event.preventDefault(); loadDeviations(); };
}

async function loadDeviations() {
  try {
    const body = await api('/api/loop/deviations', { params: values($('dev-form')) });
    $('dev-counts').replaceChildren(...Object.keys(PILL).map((state) => el('li',
      { class: `figure ${PILL[state]}` }, el('span', { class: 'value' }, body.counts[state]), el('span', { class: 'label' }, body.statuses[state]))));
    if (!body.rows.length) { $('dev-list').replaceChildren(el('p', {}, t('dev.none'))); return; }
    $('dev-list').replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, ['happened', 'category', 'client', 'worker', 'reported', 'status']
        .map((c) => el('th', { scope: 'col' }, t(`dev.col.${c}`))), el('th', { scope: 'col' }, t('dev.action')))),
      el('tbody', {}, body.rows.map((r) => el('tr', { class: r.status === 'new' ? 'alert' : null },
        el('td', {}, fmtDateTime(r.happened_at)), el('td', {}, r.category_label),
        el('td', {}, r.client ? r.client.name : '–'), el('td', {}, r.worker.display_name),
        el('td', {}, fmtDateTime(r.reported_at), r.offline ? [' ', el('span', { class: 'pill neutral' }, t('dev.offline'))] : null),
        el('td', {}, el('span', { class: `pill ${PILL[r.status]}` }, r.status_label)),
        el('td', {}, el('button', { type: 'button', class: 'secondary', onclick: () => openDeviation(r.id) }, t('dev.open'))))))));
  } catch (err) { showError($('error'), err); }
}

async function changeStatus(id, status, comment) {
  try {
    await api(`/api/loop/deviations/${id}/status`, { method: 'POST', body: { status, comment: comment || null } });
    await loadDeviations();
    await openDeviation(id, t('dev.saved'));
  } catch (err) { showError($('dev-status'), err); }
}

async function openDeviation(id, message) {
  const d = await api(`/api/loop/deviations/${id}`).catch((err) => showError($('error'), err));
  if (!d) return;
  const comment = el('textarea', { id: 'dev-comment', rows: 3, cols: 50 });
  const actions = [];
  if (d.status === 'new') actions.push(el('button', { type: 'button', onclick: () => changeStatus(id, 'received', comment.value) }, t('dev.receive')));
  if (d.status !== 'handled') actions.push(el('button', { type: 'button', onclick: () => changeStatus(id, 'handled', comment.value) }, t('dev.handle')));
  $('dev-detail').replaceChildren(...[
    el('p', {}, el('strong', {}, `${d.category_label} · `), el('span', { class: `pill ${PILL[d.status]}` }, d.status_label)),
    el('p', {}, d.description),
    el('p', {}, [d.client ? `${d.client.name} (${d.client.personal_number})` : '', d.visit ? ` · ${t('dev.visit', { id: d.visit.id })}` : '',
      ` · ${d.worker.display_name} · ${fmtDateTime(d.happened_at)}`].join('')),
    el('p', { class: 'hint' }, t('dev.deviceClock', { raw: d.happened_at_device })),
    actions.length ? el('div', { class: 'no-print' }, el('label', { for: 'dev-comment' }, t('dev.comment')), comment,
      el('p', {}, actions)) : null,
    el('p', { id: 'dev-status', role: 'status' }, message ? el('span', { class: 'message ok' }, message) : null),
    el('h3', {}, t('dev.history')),
    d.history.length ? el('ol', {}, d.history.map((h) => el('li', {},
      `${fmtDateTime(h.at)} ${h.by.display_name}: ${labels.statuses[h.from]} → ${labels.statuses[h.to]}${h.comment ? ` – ${h.comment}` : ''}`)))
      : el('p', {}, t('dev.noHistory'))].filter(Boolean));
  $('dev-detail-card').hidden = false;
}

function missedForm() {
  const form = $('missed-form');
  form.replaceChildren(
    field('m-from', t('f.from'), el('input', { type: 'date', value: daysAgo(6) })),
    field('m-to', t('f.to'), el('input', { type: 'date', value: today })),
    el('div', { class: 'field' }, el('label', {}, el('input', { type: 'checkbox', id: 'm-med' }), ' ', t('f.medication'))),
    el('button', { type: 'submit' }, t('f.show')),
    el('button', { type: 'button', class: 'secondary', onclick: () => download('/api/loop/missed.csv', missedParams(),
      'utebliven-vard.csv').catch((err) => showError($('error'), err)) }, t('f.csv')));
  form.onsubmit = (event) => { event.preventDefault(); loadMissed(); };
}

const missedParams = () => ({ from: $('m-from').value, to: $('m-to').value, medication: $('m-med').checked ? '1' : '' });

async function loadMissed() {
  try {
    const body = await api('/api/loop/missed', { params: missedParams() });
    if (!body.total) { $('missed-list').replaceChildren(el('p', {}, t('missed.none'))); return; }
    $('missed-list').replaceChildren(el('p', {}, t('missed.total', { n: body.total, m: body.medication })),
      ...body.days.map((day) => el('div', { class: 'table-wrap', tabindex: '0' }, el('table', {}, el('caption', {}, day.day),
        el('thead', {}, el('tr', {}, ['time', 'client', 'worker', 'intervention', 'reason', 'comment']
          .map((c) => el('th', { scope: 'col' }, t(c === 'client' || c === 'worker' ? `dev.col.${c}` : `missed.col.${c}`))))),
        el('tbody', {}, day.rows.map((r) => el('tr', { class: r.medication ? 'alert' : null },
          el('td', {}, fmtDateTime(r.planned_start)), el('td', {}, r.client.name), el('td', {}, r.worker.display_name),
          el('td', {}, r.intervention.title, r.medication ? [' ', el('span', { class: 'pill alert' }, t('missed.medication'))] : null),
          el('td', {}, r.reason_label), el('td', {}, r.comment || '–'))))))));
  } catch (err) { showError($('error'), err); }
}

await startPage({ page: 'deviations.html' });
const first = await api('/api/loop/deviations', { params: { from: daysAgo(29), to: today } }).catch((err) => showError($('error'), err));
if (first) { labels = first; deviationForm(first); }
missedForm();
await Promise.all([first ? loadDeviations() : null, loadMissed()]);
document.body.dataset.loaded = 'true';
