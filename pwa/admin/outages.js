// Outages for administrators and managers: declare them (ahead, while running, or afterwards with start and end),
// end them, withdraw one registered by mistake, confirm proposals, see the gaps each left, decide how a long one
// is post-registered (managers), mark absences, set the lock date and the unit's rules.
import { ApiError, api, el, fmtDateTime, showError, startPage } from './shell.js';
import { addMessages, t } from './i18n.js';

addMessages({
  sv: {
    'nav.outages': 'Driftstopp', 'outages.title': 'Driftstopp', 'outages.decideTitle': 'Väntar på ditt beslut',
    'outages.listTitle': 'Driftstopp i enheten', 'outages.proposalsTitle': 'Förslag att bekräfta',
    'outages.declareTitle': 'Anmäl driftstopp', 'outages.gapsTitle': 'Luckor', 'outages.absenceTitle': 'Frånvaro',
    'outages.settingsTitle': 'Spärrdatum och regler', 'outages.none': 'Inga driftstopp registrerade.',
    'outages.col.title': 'Driftstopp', 'outages.col.kind': 'Typ', 'outages.col.start': 'Början',
    'outages.col.end': 'Slut', 'outages.col.length': 'Längd', 'outages.col.gaps': 'Öppna luckor',
    'outages.col.actions': 'Åtgärder', 'outages.ongoing': 'pågår', 'outages.kind.planned': 'planerat',
    'outages.kind.unplanned': 'oplanerat', 'outages.showGaps': 'Visa luckor', 'outages.endNow': 'Avsluta nu',
    'outages.long': 'över gränsen', 'outages.needsDecision': 'beslut behövs',
    'outages.gapsCount': '{self} själv · {admin} admin · {decision} beslut',
    'outages.decideIntro': '{title}: {length}, längre än gränsen {threshold}. Välj hur tider och insatser ska efterregistreras.',
    'outages.route.self': 'Varje medarbetare efterregistrerar själv', 'outages.route.admin': 'Administratörerna efterregistrerar',
    'outages.lastDay': 'Sista dag (för medarbetarna)', 'outages.note': 'Meddelande till de berörda',
    'outages.decide': 'Besluta', 'outages.decided': 'Beslutet är sparat och visas för alla berörda.',
    'outages.kind': 'Typ', 'outages.name': 'Rubrik', 'outages.start': 'Början', 'outages.end': 'Slut (om det är över)',
    'outages.expectedEnd': 'Beräknat slut', 'outages.reporter': 'Anmält av', 'outages.faultType': 'Typ av fel',
    'outages.announced': 'Efterregistrering enligt meddelandet', 'outages.announced.none': 'Som vanligt (medarbetarna själva)',
    'outages.declare': 'Spara driftstopp', 'outages.declared': 'Driftstoppet är sparat.',
    'outages.fault.technical': 'Tekniskt fel', 'outages.fault.upgrade': 'Versionsuppgradering',
    'outages.fault.it_environment': 'Kommunens IT-miljö', 'outages.fault.external_provider': 'Extern utförare',
    'outages.fault.power_or_cable': 'Ström- eller kabelfel', 'outages.fault.network': 'Nätverk', 'outages.fault.other': 'Annat',
    'outages.evidence.server_heartbeat_gap': 'Servern var nere', 'outages.evidence.device_failed_syncs': '{n} telefoner kunde inte synka',
    'outages.confirm': 'Bekräfta', 'outages.dismiss': 'Avfärda', 'outages.dismissReason': 'Varför avfärdas förslaget?',
    'outages.gap.visit': 'Besök', 'outages.gap.client': 'Brukare', 'outages.gap.worker': 'Medarbetare',
    'outages.gap.route': 'Vem', 'outages.gap.deadline': 'Senast', 'outages.gap.why': 'Varför',
    'outages.gap.route.self': 'medarbetaren', 'outages.gap.route.admin': 'administratör',
    'outages.gap.route.decision': 'väntar på beslut', 'outages.gap.closed': 'registrerat', 'outages.noGaps': 'Inga luckor.',
    'outages.absence.worker': 'Medarbetare', 'outages.absence.from': 'Från', 'outages.absence.to': 'Till och med',
    'outages.absence.reason': 'Orsak', 'outages.absence.save': 'Markera frånvaro', 'outages.absence.saved': 'Frånvaron är sparad; luckorna har prövats på nytt.',
    'outages.absence.remove': 'Ta bort', 'outages.absence.none': 'Ingen frånvaro markerad.',
    'outages.lockDate': 'Spärrdatum', 'outages.lockDateHelp': 'Poster för tiden före spärrdatum hamnar i karantän i stället för i bokföringen.',
    'outages.lockSave': 'Spara spärrdatum', 'outages.threshold': 'Gräns för långt driftstopp (minuter)',
    'outages.standing': 'Stående beslut för långa driftstopp', 'outages.standing.none': 'Ingen – ledningen beslutar varje gång',
    'outages.rulesSave': 'Spara regler', 'outages.saved': 'Sparat.',
    'outages.lastTime': 'Senast klockan (tomt: hela dagen)', 'outages.withdraw': 'Återkalla…', 'outages.withdrawReason': 'Varför återkallas driftstoppet?',
    'outages.withdrawConfirm': 'Återkalla driftstoppet',
    'outages.withdrawHelp': 'För ett driftstopp som registrerats av misstag. Det sparas med vem, när och varför; dess luckor stängs.',
    'outages.withdrawn': 'återkallat', 'outages.withdrawnBy': 'Återkallat {when}: {reason}',
  },
  en: {
    'nav.outages': 'Outages', 'outages.title': 'Outages', 'outages.decideTitle': 'Waiting for your decision',
    'outages.listTitle': 'Outages in the unit', 'outages.proposalsTitle': 'Proposals to confirm',
    'outages.declareTitle': 'Report an outage', 'outages.gapsTitle': 'Gaps', 'outages.absenceTitle': 'Absence',
    'outages.settingsTitle': 'Lock date and rules', 'outages.none': 'No outages recorded.',
    'outages.col.title': 'Outage', 'outages.col.kind': 'Kind', 'outages.col.start': 'Start', 'outages.col.end': 'End',
    'outages.col.length': 'Length', 'outages.col.gaps': 'Open gaps', 'outages.col.actions': 'Actions',
    'outages.ongoing': 'ongoing', 'outages.kind.planned': 'planned', 'outages.kind.unplanned': 'unplanned',
    'outages.showGaps': 'Show gaps', 'outages.endNow': 'End now', 'outages.long': 'over the threshold',
    'outages.needsDecision': 'decision needed', 'outages.gapsCount': '{self} self · {admin} admin · {decision} decision',
    'outages.decideIntro': '{title}: {length}, longer than the {threshold} threshold. Choose how times and interventions are post-registered.',
    'outages.route.self': 'Each worker post-registers', 'outages.route.admin': 'The administrators post-register',
    'outages.lastDay': 'Last day (for workers)', 'outages.note': 'Message to those affected', 'outages.decide': 'Decide',
    'outages.decided': 'The decision is saved and shown to everyone affected.',
    'outages.kind': 'Kind', 'outages.name': 'Title', 'outages.start': 'Start', 'outages.end': 'End (if it is over)',
    'outages.expectedEnd': 'Expected end', 'outages.reporter': 'Reported by', 'outages.faultType': 'Type of fault',
    'outages.announced': 'Post-registration as announced', 'outages.announced.none': 'As usual (each worker)',
    'outages.declare': 'Save outage', 'outages.declared': 'The outage is saved.',
    'outages.fault.technical': 'Technical fault', 'outages.fault.upgrade': 'Version upgrade',
    'outages.fault.it_environment': 'Municipal IT', 'outages.fault.external_provider': 'External provider',
    'outages.fault.power_or_cable': 'Power or cable', 'outages.fault.network': 'Network', 'outages.fault.other': 'Other',
    'outages.evidence.server_heartbeat_gap': 'The server was down', 'outages.evidence.device_failed_syncs': '{n} phones could not sync',
    'outages.confirm': 'Confirm', 'outages.dismiss': 'Dismiss', 'outages.dismissReason': 'Why is the proposal dismissed?',
    'outages.gap.visit': 'Visit', 'outages.gap.client': 'Client', 'outages.gap.worker': 'Worker', 'outages.gap.route': 'Who',
    'outages.gap.deadline': 'By', 'outages.gap.why': 'Why', 'outages.gap.route.self': 'the worker',
    'outages.gap.route.admin': 'administrator', 'outages.gap.route.decision': 'awaiting decision',
    'outages.gap.closed': 'registered', 'outages.noGaps': 'No gaps.',
    'outages.absence.worker': 'Worker', 'outages.absence.from': 'From', 'outages.absence.to': 'To (inclusive)',
    'outages.absence.reason': 'Reason', 'outages.absence.save': 'Mark absent', 'outages.absence.saved': 'Absence saved; the gaps were re-evaluated.',
    'outages.absence.remove': 'Remove', 'outages.absence.none': 'No absence marked.',
    'outages.lockDate': 'Lock date', 'outages.lockDateHelp': 'Records for the time before the lock date go to quarantine instead of the books.',
    'outages.lockSave': 'Save lock date', 'outages.threshold': 'Long-outage threshold (minutes)',
    'outages.standing': 'Standing policy for long outages', 'outages.standing.none': 'None – management decides each time',
    'outages.rulesSave': 'Save rules', 'outages.saved': 'Saved.',
    'outages.lastTime': 'By time of day (empty: the whole day)', 'outages.withdraw': 'Withdraw…', 'outages.withdrawReason': 'Why is the outage withdrawn?',
    'outages.withdrawConfirm': 'Withdraw the outage',
    'outages.withdrawHelp': 'For an outage registered by mistake. It is kept with who, when and why; its gaps are closed.',
    'outages.withdrawn': 'withdrawn', 'outages.withdrawnBy': 'Withdrawn {when}: {reason}',
  },
});

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
