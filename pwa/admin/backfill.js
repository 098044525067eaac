// The administrator's desk after an outage: the unit's backfill queue (most urgent first), entering a
// registration on a worker's behalf with its source, the backfill-versus-phone conflicts and the quarantine.
import { api, el, fmtDateTime, showError, startPage } from './shell.js';
import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);
const SOURCES = ['paper_form', 'phone_call', 'worker_in_person', 'other'];
const REASONS = ['declined', 'client_absent', 'other'];
let user = null;
const filters = { worker_id: '', route: 'admin', overdue: false };

function field(id, label, input) {
  input.id = id;
  return el('div', { class: 'field' }, el('label', { for: id }, label), input);
}

const select = (options) => el('select', {}, options.map(([value, label]) => el('option', { value }, label)));

function hhmm(iso) {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function onDay(dayIso, time) {
  const d = new Date(dayIso);
  const [hh, mm] = time.split(':').map(Number);
  d.setHours(hh, mm, 0, 0);
  return d.toISOString();
}

function lastDay(iso) {
  return new Date(new Date(iso).getTime() - 60000).toLocaleDateString(document.documentElement.lang === 'en' ? 'en-GB' : 'sv-SE',
    { timeZone: 'Europe/Stockholm', weekday: 'short', day: 'numeric', month: 'short' });
}

function backfillForm(gap) {
  const v = gap.visit;
  const id = `bf-${gap.id}`;
  const start = el('input', { type: 'time', required: true, value: hhmm(v.planned_start) });
  const end = el('input', { type: 'time', required: true, value: hhmm(v.planned_end) });
  const source = select(SOURCES.map((s) => [s, t(`backfill.source.${s}`)]));
  const note = el('input', { type: 'text', maxlength: 2000 });
  const rows = v.interventions.map((i) => {
    const status = select([['done', t('backfill.done')], ...REASONS.map((r) => [`not_done:${r}`, `${t('backfill.notDone')} – ${t(`backfill.reason.${r}`)}`])]);
    return { i, status, node: field(`${id}-i${i.id}`, i.title, status) };
  });
  const status = el('div');
  const requestId = crypto.randomUUID(); // a second click on the same form is the same backfill
  return el('form', {
    class: 'form', id: `${id}-form`,
    onsubmit: async (e) => {
      e.preventDefault();
      const body = {
        visit_id: v.id, worker_id: gap.worker.id, started_at: onDay(v.planned_start, start.value),
        ended_at: onDay(v.planned_start, end.value), information_source: source.value,
        note: note.value.trim() || null, outage_id: gap.outage_id, request_id: requestId,
        interventions: rows.map((r) => {
          const [st, reason] = r.status.value.split(':');
          return reason ? { intervention_id: r.i.id, status: st, reason } : { intervention_id: r.i.id, status: st };
        }),
      };
      try {
        await api('/api/backfills', { method: 'POST', body });
        status.replaceChildren(el('p', { class: 'message ok', role: 'status' }, t('backfill.saved', { name: gap.worker.display_name })));
        await Promise.all([loadQueue(), loadConflicts()]);
      } catch (error) { showError(status, error); }
    },
  },
  field(`${id}-start`, t('backfill.start'), start), field(`${id}-end`, t('backfill.end'), end),
  rows.map((r) => r.node),
  field(`${id}-source`, t('backfill.source'), source), field(`${id}-note`, t('backfill.note'), note),
  el('button', { type: 'submit', id: `${id}-save` }, t('backfill.save', { name: gap.worker.display_name })), status);
}

async function loadQueue() {
  try {
    const params = { route: filters.route === 'admin' ? 'admin' : 'all' };
    if (filters.worker_id) params.worker_id = filters.worker_id;
    if (filters.overdue) params.overdue = '1';
    const { gaps } = await api('/api/backfill-queue', { params });
    $('queue').dataset.worker = filters.worker_id; // which filter the list on screen answers (tests wait for it)
    $('queue').replaceChildren(gaps.length ? el('ul', { class: 'queue' }, gaps.map((g) => el('li', { class: 'card', id: `queue-${g.id}` },
      el('h3', {}, `${g.visit.client_name} · ${fmtDateTime(g.visit.planned_start)}`),
      el('p', {}, g.worker.display_name, ' · ',
        g.deadline ? t('backfill.deadline', { day: lastDay(g.deadline) }) : '–',
        g.overdue ? el('span', { class: 'pill alert' }, t('backfill.overdue')) : null),
      el('p', { class: 'muted' }, g.explanation),
      g.route === 'admin' ? el('details', {}, el('summary', { id: `bf-${g.id}-open` }, t('backfill.open')), backfillForm(g)) : null)))
      : el('p', {}, t('backfill.empty')));
  } catch (error) {
    showError($('queue'), error);
  }
}

async function renderFilters() {
  let workers = [];
  try { workers = (await api('/api/dashboard/people')).users.filter((u) => u.role === 'worker'); } catch { workers = []; }
  const worker = select([['', t('backfill.filter.all')], ...workers.map((w) => [String(w.id), w.display_name])]);
  const route = select([['admin', t('backfill.filter.admin')], ['all', t('backfill.filter.everything')]]);
  const overdue = el('input', { type: 'checkbox' });
  worker.addEventListener('change', () => { filters.worker_id = worker.value; loadQueue(); });
  route.addEventListener('change', () => { filters.route = route.value; loadQueue(); });
  overdue.addEventListener('change', () => { filters.overdue = overdue.checked; loadQueue(); });
  $('filters').replaceChildren(el('div', { class: 'filters' },
    field('filter-worker', t('backfill.filter.worker'), worker), field('filter-route', t('backfill.filter.route'), route),
    el('div', { class: 'field' }, overdue, el('label', { for: 'filter-overdue' }, t('backfill.filter.overdue')))));
  overdue.id = 'filter-overdue';
}

async function loadConflicts() {
  try {
    const { conflicts } = await api('/api/conflicts');
    $('conflicts').replaceChildren(conflicts.length ? el('ul', {}, conflicts.map((c) => {
      const note = el('input', { type: 'text', minlength: 3, maxlength: 1000 });
      const status = el('div');
      const resolve = (effective) => async () => {
        try {
          await api('/api/conflicts/resolve', { method: 'POST', body: { visit_id: c.visit_id, worker_id: c.worker_id, effective, note: note.value.trim() } });
          await loadConflicts();
        } catch (error) { showError(status, error); }
      };
      const key = `conflict-${c.visit_id}-${c.worker_id}`;
      return el('li', { class: 'card', id: key },
        el('p', {}, t('backfill.conflict.visit', { visit: c.visit_id, worker: c.worker_id })),
        el('ul', {}, c.fields.map((f) => el('li', {}, f.explanation))),
        field(`${key}-note`, t('backfill.conflict.note'), note),
        el('button', { type: 'button', id: `${key}-device`, onclick: resolve('device') }, t('backfill.conflict.keepDevice')),
        el('button', { type: 'button', class: 'secondary', id: `${key}-backfill`, onclick: resolve('backfill') }, t('backfill.conflict.keepBackfill')),
        status);
    })) : el('p', {}, t('backfill.conflicts.none')));
  } catch (error) {
    showError($('conflicts'), error);
  }
}

async function loadQuarantine() {
  try {
    const { records } = await api('/api/quarantine');
    $('quarantine').replaceChildren(records.length ? el('ul', {}, records.map((q) => {
      const at = el('input', { type: 'datetime-local' });
      const note = el('input', { type: 'text', minlength: 3, maxlength: 1000 });
      const status = el('div');
      const act = (path, body) => async () => {
        try { await api(`/api/quarantine/${q.id}/${path}`, { method: 'POST', body }); await loadQuarantine(); } catch (error) { showError(status, error); }
      };
      const hasTime = q.raw && q.raw.payload && 'at' in q.raw.payload;
      return el('li', { class: 'card', id: `q-${q.id}` },
        el('p', {}, `${q.type} · ${fmtDateTime(q.received_at)} · `, el('strong', {}, q.message), ` (${q.code})`),
        hasTime ? field(`q-${q.id}-at`, t('backfill.quarantine.correctAt'), at) : null,
        field(`q-${q.id}-note`, t('backfill.quarantine.note'), note),
        el('button', { type: 'button', id: `q-${q.id}-reapply`, onclick: () => act('reapply', {
          note: note.value.trim(), ...(hasTime && at.value ? { payload: { at: new Date(at.value).toISOString() } } : {}) })() },
        t('backfill.quarantine.reapply')),
        el('button', { type: 'button', class: 'secondary', id: `q-${q.id}-dismiss`,
          onclick: () => act('dismiss', { reason: note.value.trim() })() }, t('backfill.quarantine.dismiss')),
        status);
    })) : el('p', {}, t('backfill.quarantine.none')));
  } catch (error) {
    showError($('quarantine'), error);
  }
}

user = await startPage({ page: 'backfill.html' });
document.documentElement.dataset.role = user.role;
await renderFilters();
await Promise.all([loadQueue(), loadConflicts(), loadQuarantine()]);
document.body.dataset.loaded = 'true';
