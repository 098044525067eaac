// Outages for administrators and managers: declare them (ahead, while running, or afterwards with start and end),
// end them, withdraw one registered by mistake, confirm proposals, see the gaps each left, decide how a long one
// is post-registered (managers), mark absences, set the lock date and the unit's rules.
import { ApiError, api, el, fmtDateTime, showError, startPage } from './shell.js';
import { t } from './i18n.js';


const FAULT_TYPES = ['technical', 'upgrade', 'it_environment', 'external_provider', 'power_or_cable', 'network', 'other'];
let user = null;
let people = [];

const $ = (id) => document.getElementById(id);

function minutesText(minutes) {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

function lastDayLabel(deadlineIso) {
  // deadlines are exclusive (the first instant after the last day): show the last day
  return deadlineIso ? fmtDateTime(new Date(new Date(deadlineIso).getTime() - 60000).toISOString()) : '–';
}

function field(id, label, input) {
  input.id = id;
  return el('div', { class: 'field' }, el('label', { for: id }, label), input);
}

function select(options) {
  return el('select', {}, options.map(([value, label]) => el('option', { value }, label)));
}

function message(container, text, kind = 'ok') {
  container.replaceChildren(el('p', { class: `message ${kind}`, role: 'status' }, text));
}

const toIso = (localValue) => (localValue ? new Date(localValue).toISOString() : null);

function endOfDayIso(dateValue) {
  const [y, m, d] = dateValue.split('-').map(Number);
  return new Date(y, m - 1, d + 1, 0, 0, 0).toISOString();
}

async function load() {
  const errorBox = $('error');
  try {
    const { outages } = await api('/api/outages');
    const confirmed = outages.filter((o) => o.status === 'confirmed');
    renderDecisions(confirmed.filter((o) => o.needs_decision));
    renderList(outages.filter((o) => o.status === 'confirmed' || o.status === 'withdrawn'));
    renderProposals(user.role === 'admin' ? outages.filter((o) => o.status === 'proposed') : []);
  } catch (error) {
    showError(errorBox, error);
  }
}

function renderDecisions(waiting) {
  $('decide-section').hidden = !(user.role === 'manager' && waiting.length);
  $('decide').replaceChildren(...waiting.map((o) => {
    const route = select([['admin', t('outages.route.admin')], ['self', t('outages.route.self')]]);
    const lastDay = el('input', { type: 'date' });
    const lastTime = el('input', { type: 'time' });  // empty: the whole last day
    const note = el('input', { type: 'text', maxlength: 500 });
    const status = el('div');
    return el('form', {
      class: 'form', id: `decide-${o.id}`,
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { route: route.value, note: note.value.trim() || null };
        if (route.value === 'self' && lastDay.value) {
          body.deadline = lastTime.value ? toIso(`${lastDay.value}T${lastTime.value}`) : endOfDayIso(lastDay.value);
        }
        try {
          await api(`/api/outages/${o.id}/policy`, { method: 'POST', body });
          message(status, t('outages.decided'));
          await load();
        } catch (error) { showError(status, error); }
      },
    },
    el('p', {}, t('outages.decideIntro', { title: o.title, length: minutesText(o.elapsed_minutes),
      threshold: minutesText(o.threshold_minutes) })),
    field(`decide-${o.id}-route`, t('outages.gap.route'), route),
    field(`decide-${o.id}-last-day`, t('outages.lastDay'), lastDay),
    field(`decide-${o.id}-last-time`, t('outages.lastTime'), lastTime),
    field(`decide-${o.id}-note`, t('outages.note'), note),
    el('button', { type: 'submit', id: `decide-${o.id}-submit` }, t('outages.decide')), status);
  }));
}

function renderList(outages) {
  if (!outages.length) {
    $('outages').replaceChildren(el('p', {}, t('outages.none')));
    return;
  }
  const rows = outages.map((o) => el('tr', { id: `outage-${o.id}`, class: o.status === 'withdrawn' ? 'withdrawn' : null },
    el('td', {}, o.title, o.status === 'withdrawn' ? [el('span', { class: 'pill' }, t('outages.withdrawn')),
      el('p', { class: 'hint' }, t('outages.withdrawnBy', { when: fmtDateTime(o.withdrawn_at), reason: o.withdrawn_reason }))]
      : o.needs_decision ? el('span', { class: 'pill alert' }, t('outages.needsDecision'))
        : o.long ? el('span', { class: 'pill warn' }, t('outages.long')) : null),
    el('td', {}, t(`outages.kind.${o.kind}`)),
    el('td', {}, fmtDateTime(o.started_at)),
    el('td', {}, o.ended_at ? fmtDateTime(o.ended_at) : el('span', { class: 'pill warn' }, t('outages.ongoing'))),
    el('td', { class: 'num' }, minutesText(o.elapsed_minutes)),
    el('td', {}, t('outages.gapsCount', o.gap_counts)),
    el('td', {},
      el('button', { type: 'button', class: 'secondary', id: `outage-${o.id}-gaps`, onclick: () => showGaps(o) }, t('outages.showGaps')),
      user.role === 'admin' && o.status === 'confirmed' && !o.ended_at ? el('button', { type: 'button', id: `outage-${o.id}-end`,
        onclick: async () => {
          try { await api(`/api/outages/${o.id}/end`, { method: 'POST', body: {} }); await load(); } catch (error) { showError($('error'), error); }
        } }, t('outages.endNow')) : null,
      user.role === 'admin' && o.status === 'confirmed' ? withdrawControl(o) : null)));
  $('outages').replaceChildren(el('table', {},
    el('thead', {}, el('tr', {}, ['title', 'kind', 'start', 'end', 'length', 'gaps', 'actions']
      .map((c) => el('th', { scope: 'col' }, t(`outages.col.${c}`))))),
    el('tbody', {}, rows)));
}

function withdrawControl(outage) {
  // Behind a disclosure and with a required reason: withdrawing closes every gap of the outage.
  const reason = el('input', { type: 'text', minlength: 3, maxlength: 1000, required: true });
  const status = el('div');
  return el('details', { class: 'withdraw', id: `outage-${outage.id}-withdraw` },
    el('summary', {}, t('outages.withdraw')),
    el('form', {
      class: 'form',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await api(`/api/outages/${outage.id}/withdraw`, { method: 'POST', body: { reason: reason.value.trim() } });
          await load();
        } catch (error) { showError(status, error); }
      },
    },
    el('p', { class: 'hint' }, t('outages.withdrawHelp')),
    field(`outage-${outage.id}-withdraw-reason`, t('outages.withdrawReason'), reason),
    el('button', { type: 'submit', id: `outage-${outage.id}-withdraw-submit` }, t('outages.withdrawConfirm')), status));
}

function renderProposals(proposals) {
  $('proposals-section').hidden = !proposals.length;
  $('proposals').replaceChildren(...proposals.map((o) => {
    const reason = el('input', { type: 'text', minlength: 3, maxlength: 1000 });
    const status = el('div');
    const evidence = o.evidence ? t(`outages.evidence.${o.evidence.kind}`, { n: o.evidence.devices || 0 }) : '';
    return el('div', { class: 'proposal', id: `proposal-${o.id}` },
      el('p', {}, `${evidence}: ${fmtDateTime(o.started_at)} – ${fmtDateTime(o.ended_at)}`),
      el('button', { type: 'button', id: `proposal-${o.id}-confirm`, onclick: async () => {
        try { await api(`/api/outages/${o.id}/confirm`, { method: 'POST', body: {} }); await load(); } catch (error) { showError(status, error); }
      } }, t('outages.confirm')),
      field(`proposal-${o.id}-reason`, t('outages.dismissReason'), reason),
      el('button', { type: 'button', class: 'secondary', onclick: async () => {
        try {
          await api(`/api/outages/${o.id}/dismiss`, { method: 'POST', body: { reason: reason.value.trim() } });
          await load();
        } catch (error) { showError(status, error); }
      } }, t('outages.dismiss')), status);
  }));
}

async function showGaps(outage) {
  $('gaps-section').hidden = false;
  $('gaps-title').textContent = `${t('outages.gapsTitle')}: ${outage.title}`;
  try {
    const { gaps } = await api(`/api/outages/${outage.id}/gaps`);
    if (!gaps.length) {
      $('gaps').replaceChildren(el('p', {}, t('outages.noGaps')));
      return;
    }
    $('gaps').replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, ['visit', 'client', 'worker', 'route', 'deadline', 'why']
        .map((c) => el('th', { scope: 'col' }, t(`outages.gap.${c}`))))),
      el('tbody', {}, gaps.map((g) => el('tr', { class: `gap-${g.state}` },
        el('td', {}, fmtDateTime(g.visit.planned_start)),
        el('td', {}, g.visit.client_name),
        el('td', {}, g.worker.display_name),
        el('td', {}, g.state === 'open' ? t(`outages.gap.route.${g.route}`) : t('outages.gap.closed')),
        el('td', {}, g.state === 'open' ? lastDayLabel(g.deadline) : '–'),
        el('td', {}, g.explanation))))));
    $('gaps-section').scrollIntoView();
  } catch (error) {
    showError($('gaps'), error);
  }
}

function renderDeclare() {
  $('declare-section').hidden = user.role !== 'admin';
  if (user.role !== 'admin') return;
  const kind = select([['unplanned', t('outages.kind.unplanned')], ['planned', t('outages.kind.planned')]]);
  const title = el('input', { type: 'text', maxlength: 200 });
  const start = el('input', { type: 'datetime-local', required: true });
  const end = el('input', { type: 'datetime-local' });
  const expected = el('input', { type: 'datetime-local' });
  const reporter = el('input', { type: 'text', maxlength: 120, value: user.display_name });
  const fault = select(FAULT_TYPES.map((f) => [f, t(`outages.fault.${f}`)]));
  const announced = select([['', t('outages.announced.none')], ['admin', t('outages.route.admin')]]);
  const status = el('div');
  $('declare').replaceChildren(el('form', {
    class: 'form', id: 'declare-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { kind: kind.value, started_at: toIso(start.value), fault_type: fault.value,
        reporter_name: reporter.value.trim() || null, discovered_by_unit_id: user.unit.id };
      if (title.value.trim()) body.title = title.value.trim();
      if (end.value) body.ended_at = toIso(end.value);  // entered afterwards: one request, evaluated as ended
      if (kind.value === 'planned') {
        if (expected.value) body.expected_end = toIso(expected.value);
        if (announced.value) body.announced_policy = { route: announced.value };
      }
      try {
        await api('/api/outages', { method: 'POST', body });
        message(status, t('outages.declared'));
        await load();
      } catch (error) { showError(status, error); }
    },
  },
  field('declare-kind', t('outages.kind'), kind), field('declare-title', t('outages.name'), title),
  field('declare-start', t('outages.start'), start), field('declare-end', t('outages.end'), end),
  field('declare-expected-end', t('outages.expectedEnd'), expected),
  field('declare-reporter', t('outages.reporter'), reporter), field('declare-fault', t('outages.faultType'), fault),
  field('declare-announced', t('outages.announced'), announced),
  el('button', { type: 'submit', id: 'declare-submit' }, t('outages.declare')), status));
}

async function renderAbsence() {
  const workers = people.filter((p) => p.role === 'worker');
  const worker = select(workers.map((w) => [String(w.id), w.display_name]));
  const from = el('input', { type: 'date', required: true });
  const to = el('input', { type: 'date' });
  const reason = el('input', { type: 'text', maxlength: 200 });
  const status = el('div');
  const list = el('div', { id: 'absence-list' });
  async function refreshList() {
    const { absences } = await api('/api/absences', { params: { from: new Date().toISOString().slice(0, 10) } });
    const name = (id) => (people.find((p) => p.id === id) || {}).display_name || id;
    list.replaceChildren(absences.length ? el('ul', {}, absences.map((a) => el('li', {},
      `${a.day} – ${name(a.worker_id)}${a.reason ? ` (${a.reason})` : ''} `,
      el('button', { type: 'button', class: 'secondary', onclick: async () => {
        await api(`/api/absences/${a.id}`, { method: 'DELETE' });
        await refreshList();
      } }, t('outages.absence.remove'))))) : el('p', {}, t('outages.absence.none')));
  }
  $('absence').replaceChildren(el('form', {
    class: 'form', id: 'absence-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { worker_id: Number(worker.value), from: from.value, reason: reason.value.trim() || null };
      if (to.value) body.to = to.value;
      try {
        await api('/api/absences', { method: 'POST', body });
        message(status, t('outages.absence.saved'));
        await refreshList();
        await load();
      } catch (error) { showError(status, error); }
    },
  },
  field('absence-worker', t('outages.absence.worker'), worker), field('absence-from', t('outages.absence.from'), from),
  field('absence-to', t('outages.absence.to'), to), field('absence-reason', t('outages.absence.reason'), reason),
  el('button', { type: 'submit', id: 'absence-submit' }, t('outages.absence.save')), status), list);
  await refreshList();
}

async function renderSettings() {
  const s = await api(`/api/units/${user.unit.id}/outage-settings`);
  const lock = el('input', { type: 'date', value: s.lock_date || '' });
  const lockStatus = el('div');
  const parts = [el('form', {
    class: 'form', id: 'lock-form',
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api(`/api/units/${user.unit.id}/lock-date`, { method: 'PUT', body: { lock_date: lock.value || null } });
        message(lockStatus, t('outages.saved'));
      } catch (error) { showError(lockStatus, error); }
    },
  }, el('p', {}, t('outages.lockDateHelp')), field('lock-date', t('outages.lockDate'), lock),
  el('button', { type: 'submit', id: 'lock-submit' }, t('outages.lockSave')), lockStatus)];
  if (user.role === 'manager') {
    const threshold = el('input', { type: 'number', min: 1, max: 10080, value: s.effective.threshold_minutes });
    const standing = select([['', t('outages.standing.none')], ['admin', t('outages.route.admin')], ['self', t('outages.route.self')]]);
    standing.value = s.effective.long_outage_policy ? s.effective.long_outage_policy.route : '';
    const rulesStatus = el('div');
    parts.push(el('form', {
      class: 'form', id: 'rules-form',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await api(`/api/units/${user.unit.id}/outage-rules`, { method: 'PUT', body: {
            threshold_minutes: Number(threshold.value), long_outage_policy: standing.value ? { route: standing.value } : null } });
          message(rulesStatus, t('outages.saved'));
          await load();
        } catch (error) { showError(rulesStatus, error); }
      },
    }, field('rules-threshold', t('outages.threshold'), threshold), field('rules-standing', t('outages.standing'), standing),
    el('button', { type: 'submit', id: 'rules-submit' }, t('outages.rulesSave')), rulesStatus));
  }
  $('settings').replaceChildren(...parts);
}

user = await startPage({ page: 'outages.html' });
try {
  people = (await api('/api/dashboard/people')).users;
} catch (error) {
  if (!(error instanceof ApiError)) throw error;
  people = [];
}
renderDeclare();
await Promise.all([load(), renderAbsence(), renderSettings()]);
document.body.dataset.loaded = 'true';
