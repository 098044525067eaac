// Managing by hand for the administrator's unit: find a visit (by day), a client or a staff member, open it and
// change it. The server checks everything (unit, double booking, bounds) and keeps the audit trail; this page
// shows it. Times are entered and shown in Swedish local time (Europe/Stockholm), sent with their offset.
import { api, el, fmtDateTime, showError, startPage } from './shell.js';
import { t } from './i18n.js';

const TZ = 'Europe/Stockholm';
await startPage({ page: 'manage.html', roles: ['admin'] });

// -- Stockholm wall time <-> an instant ------------------------------------------------------------------------
const PARTS = new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit',
  day: '2-digit', hour: '2-digit', minute: '2-digit' });

function local(ms) {
  const p = Object.fromEntries(PARTS.formatToParts(new Date(ms)).map((part) => [part.type, part.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
}

function offsetMinutes(ms) {
  const { date, time } = local(ms);
  const [y, mo, d] = date.split('-').map(Number);
  const [h, mi] = time.split(':').map(Number);
  return Math.round((Date.UTC(y, mo - 1, d, h, mi) - Math.floor(ms / 60000) * 60000) / 60000);
}

// "2026-12-08", "09:30" → "2026-12-08T09:30:00+01:00"; null for a time the clocks skip (spring forward).
function stockholmIso(date, time) {
  const [y, mo, d] = date.split('-').map(Number);
  const [h, mi] = time.split(':').map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  const ms = wall - offsetMinutes(wall - offsetMinutes(wall) * 60000) * 60000;
  const back = local(ms);
  if (back.date !== date || back.time !== time) return null;
  const off = offsetMinutes(ms);
  const abs = Math.abs(off);
  return `${date}T${time}:00${off < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const span = (v) => `${local(Date.parse(v.planned_start)).time}–${local(Date.parse(v.planned_end)).time}`;
const pill = (tone, text) => el('span', { class: `pill ${tone}` }, text);
const head = (...keys) => el('thead', {}, el('tr', {}, keys.map((k) => el('th', { scope: 'col' }, k ? t(k) : ''))));
const table = (id, thead, rows) => el('div', { class: 'table-wrap' }, el('table', { id }, thead, el('tbody', {}, rows)));
const field = (id, label, input) => el('div', { class: 'field' }, el('label', { for: id }, t(label)), input);

// -- search -----------------------------------------------------------------------------------------------------
const form = document.getElementById('search-form');
const kind = document.getElementById('kind');
const day = document.getElementById('day');
const results = document.getElementById('results');
const searchStatus = document.getElementById('search-status');
day.value = local(Date.now()).date;
kind.addEventListener('change', () => {
  document.getElementById('day-field').hidden = kind.value !== 'visits';
  day.required = kind.value === 'visits';
});

const openButton = (what, id, name) => el('button', { type: 'button', class: 'secondary small',
  'aria-label': t('mng.openNamed', { name }), onclick: () => open(what, id) }, t('mng.open'));

const RESULTS = {
  visits: (list) => table('found', head('mng.time', 'mng.client', 'mng.staff', 'mng.state', null), list.map((v) => el('tr', {},
    el('td', {}, span(v)), el('td', {}, v.client.name), el('td', {}, v.workers.map((w) => w.display_name).join(', ')),
    el('td', {}, visitState(v)), el('td', {}, openButton('visits', v.id, `${span(v)} ${v.client.name}`))))),
  clients: (list) => table('found', head('mng.name', 'mng.personalNumber', 'mng.address', null), list.map((c) => el('tr', {},
    el('td', {}, c.name), el('td', {}, c.personal_number), el('td', {}, c.address),
    el('td', {}, openButton('clients', c.id, c.name))))),
  staff: (list) => table('found', head('mng.name', 'mng.username', 'mng.role', 'mng.state', null), list.map((s) => el('tr', {},
    el('td', {}, s.display_name), el('td', {}, s.username), el('td', {}, t(`role.${s.role}`)),
    el('td', {}, s.active ? pill('ok', t('mng.active')) : pill('neutral', t('mng.inactive'))),
    el('td', {}, openButton('staff', s.id, s.display_name))))),
};

function visitState(v) {
  if (v.cancelled) return pill('alert', t('mng.cancelled'));
  return v.revision ? pill('warn', t('mng.changed')) : pill('ok', t('mng.planned'));
}

async function search() {
  const what = kind.value;
  searchStatus.replaceChildren();
  try {
    const answer = await api(`/api/admin/${what}`, { params: { q: document.getElementById('q').value.trim(),
      day: what === 'visits' ? day.value : undefined } });
    const list = answer[what];
    results.replaceChildren(list.length ? RESULTS[what](list) : el('p', { class: 'hint' }, t('mng.none')));
    if (answer.more) results.append(el('p', { class: 'hint' }, t('mng.more')));
  } catch (err) {
    showError(searchStatus, err);
  }
}
form.addEventListener('submit', (event) => { event.preventDefault(); search(); });

// -- one object: its form, its audit trail -------------------------------------------------------------------
const card = document.getElementById('detail-card');
const title = document.getElementById('detail-title');
const detail = document.getElementById('detail');
const status = document.getElementById('detail-status');

async function open(what, id) {
  status.replaceChildren();
  try {
    show(what, await api(`/api/admin/${what}/${id}`));
    title.focus();
  } catch (err) {
    showError(status, err);
  }
}

function show(what, answer) {
  card.hidden = false;
  DETAIL[what](answer);
  renderAudit(answer.audit);
}

async function save(what, id, body, method = 'PATCH', done = 'mng.saved') {
  status.replaceChildren();
  try {
    const answer = await api(`/api/admin/${what}/${id}`, { method, body });
    show(what, answer);
    status.replaceChildren(el('p', { class: 'message ok' }, t(answer.changed === false ? 'mng.nothing' : done)));
    search(); // the list shows what was just saved
    return answer;
  } catch (err) {
    showError(status, err);
    return null;
  }
}

function renderVisit({ visit, staff_choices: choices }) {
  title.textContent = t('mng.visitTitle', { client: visit.client.name, time: span(visit) });
  const start = local(Date.parse(visit.planned_start));
  const inputs = { day: el('input', { id: 'visit-day', type: 'date', required: true, value: start.date }),
    start: el('input', { id: 'visit-start', type: 'time', required: true, value: start.time }),
    end: el('input', { id: 'visit-end', type: 'time', required: true, value: local(Date.parse(visit.planned_end)).time }) };
  const current = new Set(visit.workers.map((w) => w.id));
  const people = [...choices, ...visit.workers.filter((w) => !choices.some((c) => c.id === w.id))];
  const boxes = people.map((p) => el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'staff', value: p.id,
    checked: current.has(p.id) }), ` ${p.display_name} (${p.username})`));
  const visitForm = el('form', { id: 'visit-form', class: 'inline' },
    field('visit-day', 'mng.day', inputs.day), field('visit-start', 'mng.start', inputs.start),
    field('visit-end', 'mng.end', inputs.end),
    el('fieldset', { class: 'staff-choice' }, el('legend', {}, t('mng.staff')), boxes),
    el('button', { type: 'submit' }, t('mng.save')));
  visitForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const startIso = stockholmIso(inputs.day.value, inputs.start.value);
    const endIso = stockholmIso(inputs.day.value, inputs.end.value);
    if (!startIso || !endIso) {
      status.replaceChildren(el('p', { class: 'message error', role: 'alert' }, t('mng.noSuchTime')));
      return;
    }
    const body = { revision: visit.revision };
    if (Date.parse(startIso) !== Date.parse(visit.planned_start)) body.start = startIso;
    if (Date.parse(endIso) !== Date.parse(visit.planned_end)) body.end = endIso;
    const staff = [...visitForm.querySelectorAll('input[name=staff]:checked')].map((box) => Number(box.value));
    if (staff.length !== current.size || staff.some((id) => !current.has(id))) body.staff = staff;
    save('visits', visit.id, body);
  });
  const toggle = el('button', { type: 'button', id: 'visit-cancel', class: 'secondary',
    onclick: () => save('visits', visit.id, { revision: visit.revision, cancelled: !visit.cancelled }) },
  t(visit.cancelled ? 'mng.restore' : 'mng.cancel'));
  detail.replaceChildren(el('p', {}, visitState(visit), ' ', t('mng.revision', { n: visit.revision }),
    visit.external_id ? ` · ${visit.external_id}` : ''), visitForm, el('p', {}, toggle));
}

const CLIENT_FIELDS = [['name', 'mng.name', 120], ['personal_number', 'mng.personalNumber', 20], ['address', 'mng.address', 200],
  ['phone', 'mng.phone', 32], ['key_ref', 'mng.keyRef', 32], ['key_note', 'mng.keyNote', 200],
  ['notes', 'mng.notes', 2000, true], ['care_plan_summary', 'mng.carePlan', 4000, true]];

function renderClient({ client }) {
  title.textContent = t('mng.clientTitle', { name: client.name });
  const inputs = Object.fromEntries(CLIENT_FIELDS.map(([name, , max, long]) => [name, long
    ? el('textarea', { id: `client-${name}`, maxlength: max, rows: 3 }, client[name] || '')
    : el('input', { id: `client-${name}`, maxlength: max, value: client[name] || '' })]));
  const clientForm = el('form', { id: 'client-form', class: 'inline' },
    CLIENT_FIELDS.map(([name, label]) => field(`client-${name}`, label, inputs[name])),
    el('button', { type: 'submit' }, t('mng.save')));
  clientForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = Object.fromEntries(CLIENT_FIELDS.map(([name]) => [name, inputs[name].value.trim()])
      .filter(([name, value]) => value !== (client[name] || '')));
    if (!Object.keys(body).length) {
      status.replaceChildren(el('p', { class: 'message ok' }, t('mng.nothing')));
      return;
    }
    save('clients', client.id, body);
  });
  detail.replaceChildren(el('p', { class: 'hint' }, t('mng.clientLead')), clientForm);
}

function renderStaff({ staff, devices, code, expires_at: expires }) {
  title.textContent = t('mng.staffTitle', { name: staff.display_name });
  const name = el('input', { id: 'staff-name', maxlength: 120, required: true, value: staff.display_name });
  const nameForm = el('form', { id: 'staff-form', class: 'inline' }, field('staff-name', 'mng.name', name),
    el('button', { type: 'submit' }, t('mng.save')));
  nameForm.addEventListener('submit', (event) => { event.preventDefault(); save('staff', staff.id, { display_name: name.value.trim() }); });
  const active = el('button', { type: 'button', id: 'staff-active', class: 'secondary',
    onclick: () => save('staff', staff.id, { active: !staff.active }) }, t(staff.active ? 'mng.deactivate' : 'mng.reactivate'));
  const reset = el('input', { type: 'checkbox', id: 'reset-password' });
  const codeButton = el('button', { type: 'button', id: 'make-code', disabled: !staff.active,
    onclick: () => save('staff', `${staff.id}/enrolment-code`, { reset_password: reset.checked }, 'POST', 'mng.codeMade') }, t('mng.makeCode'));
  detail.replaceChildren(
    el('p', {}, `${staff.username} · ${t(`role.${staff.role}`)} · `,
      staff.active ? pill('ok', t('mng.active')) : pill('neutral', t('mng.inactive')), ' · ',
      t(staff.has_password ? 'mng.hasPassword' : 'mng.noPassword'),
      staff.enrolment_code_expires_at ? ` · ${t('mng.codeUntil', { when: fmtDateTime(staff.enrolment_code_expires_at) })}` : ''),
    nameForm, el('p', { class: 'hint' }, t('mng.deactivateLead')), el('p', {}, active),
    el('h3', {}, t('mng.codeTitle')), el('p', { class: 'hint' }, t('mng.codeLead')),
    el('p', {}, el('label', { class: 'check', for: 'reset-password' }, reset, ` ${t('mng.resetPassword')}`)), el('p', {}, codeButton),
    code ? el('p', { class: 'message ok', id: 'code-shown' }, t('mng.codeShown', { when: fmtDateTime(expires) }), ' ',
      el('code', { id: 'code' }, code)) : null,
    el('h3', {}, t('mng.devices')), devicesTable(staff, devices));
}

function devicesTable(staff, devices) {
  if (!devices.length) return el('p', { class: 'hint' }, t('mng.noDevices'));
  return table('devices', head('mng.device', 'mng.enrolled', 'mng.lastSeen', 'mng.state', null), devices.map((d) => el('tr', {},
    el('td', {}, d.name || d.id), el('td', {}, fmtDateTime(d.enrolled_at)), el('td', {}, fmtDateTime(d.last_seen_at)),
    el('td', {}, d.revoked_at ? pill('alert', t('mng.revokedAt', { when: fmtDateTime(d.revoked_at) })) : pill('ok', t('mng.inUse'))),
    el('td', {}, d.revoked_at ? '' : el('button', { type: 'button', class: 'secondary small',
      'aria-label': t('mng.revokeNamed', { name: d.name || d.id }), onclick: () => revoke(staff, d) }, t('mng.revoke'))))));
}

async function revoke(staff, device) {
  if (!window.confirm(t('mng.confirmRevoke', { name: device.name || device.id }))) return;
  try {
    await api(`/api/devices/${encodeURIComponent(device.id)}/revoke`, { method: 'POST' });
    await open('staff', staff.id);
    status.replaceChildren(el('p', { class: 'message ok' }, t('mng.revokedDone')));
  } catch (err) {
    showError(status, err);
  }
}

const DETAIL = { visits: renderVisit, clients: renderClient, staff: renderStaff };

// -- the audit trail: who, when, what, before → after ---------------------------------------------------------
const shown = (value) => (value === null || value === undefined || value === '' ? '–'
  : typeof value === 'boolean' ? t(value ? 'mng.yes' : 'mng.no')
    : typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) ? fmtDateTime(value)
      : Array.isArray(value) ? value.map(shown).join(', ')
        : typeof value === 'object' ? JSON.stringify(value) : String(value));
const fieldName = (key) => (t(`mng.field.${key}`) === `mng.field.${key}` ? key : t(`mng.field.${key}`));

function changes(entry) {
  const before = entry.before || {};
  return Object.keys(entry.after || {}).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(entry.after[k]))
    .map((k) => (entry.before ? `${fieldName(k)}: ${shown(before[k])} → ${shown(entry.after[k])}`
      : `${fieldName(k)}: ${shown(entry.after[k])}`)).join('; ');
}

function renderAudit(entries) {
  document.getElementById('audit-card').hidden = false;
  document.getElementById('audit').replaceChildren(entries.length
    ? table('audit-trail', head('imp.when', 'imp.who', 'imp.what', 'imp.changes'), entries.map((e) => el('tr', {},
      el('td', {}, fmtDateTime(e.at)), el('td', {}, e.actor),
      el('td', {}, `${t(`action.${e.action}`)}${e.external_id ? ` (${e.external_id})` : ''}`), el('td', {}, changes(e)))))
    : el('p', { class: 'hint' }, t('mng.noAudit')));
}

await search();
document.body.dataset.loaded = 'true';
