/* "Att efterregistrera" (post-registration, issue 4): the visits this worker must register after an outage.
 * Exports and rules: docs/pwa.md, "Modules". */
import { api, Unreachable } from '../api.js';
import { decryptJSON, encryptJSON } from '../crypto.js';
import { announce, dayAndTimeToDate, fmtDay, fmtTime, h } from '../dom.js';
import { lang, t } from '../i18n.js';
import * as outbox from '../outbox.js';
import { visitState } from '../records.js';
import * as session from '../session.js';
import { idb } from '../store.js';

const VAULT_KEY = 'postreg';
const NOT_DONE_REASONS = ['declined', 'client_absent', 'other'];

const say = (key, vars) => t(`postreg.${key}`, vars); // this screen's texts: postreg.* in i18n/

let list = null; // {as_of, gaps: [...]} as last fetched
let lastOutcome = null;

export const gaps = () => (list ? list.gaps : []);

async function loadSaved() {
  if (list) return list;
  const box = await idb.get('vault', VAULT_KEY);
  list = box ? await decryptJSON(session.dataKey(), box, VAULT_KEY) : null;
  return list;
}

export async function refresh() {
  try {
    const res = await api('/api/me/gaps', { token: session.token() });
    if (res.status === 401) return (lastOutcome = 'auth');
    if (res.status !== 200) return (lastOutcome = 'error');
    list = res.body;
    await idb.put('vault', await encryptJSON(session.dataKey(), list, VAULT_KEY), VAULT_KEY);
    return (lastOutcome = 'ok');
  } catch (e) {
    if (e instanceof Unreachable) return (lastOutcome = 'offline');
    throw e;
  }
}

function hhmm(iso) {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function routeBadge(gap) {
  const [cls, key] = { self: ['warn', 'routeSelf'], admin: ['ok', 'routeAdmin'], decision: ['info', 'routeDecision'] }[gap.route]
    || ['ok', 'closed'];
  return h('span', { class: `badge ${cls}` }, say(key));
}

function deadlineText(gap) {
  if (gap.state !== 'open') return null;
  if (gap.overdue) return h('p', { class: 'error' }, say('overdue'));
  if (!gap.deadline) return h('p', { class: 'muted' }, say('noDeadline'));
  // The deadline is exclusive (the first instant after the last day): show the last day itself.
  return h('p', { class: 'deadline' }, h('strong', {}, say('deadline', { day: fmtDay(new Date(new Date(gap.deadline) - 1)) })));
}

function registrationForm(gap, ctx) {
  const v = gap.visit;
  const id = `g${gap.id}`;
  const start = h('input', { id: `${id}-start`, type: 'time', required: true, value: hhmm(v.planned_start) });
  const end = h('input', { id: `${id}-end`, type: 'time', required: true, value: hhmm(v.planned_end) });
  const error = h('p', { class: 'error', role: 'alert' });
  const rows = (v.interventions || []).map((i) => {
    const status = h('select', { id: `${id}-i${i.id}` },
      h('option', { value: 'done' }, say('done')), h('option', { value: 'not_done' }, say('notDone')));
    const reason = h('select', { id: `${id}-i${i.id}-reason` },
      NOT_DONE_REASONS.map((r) => h('option', { value: r }, t(`reason.${r}`))));
    const reasonBox = h('div', { hidden: true }, h('label', { for: `${id}-i${i.id}-reason` }, say('reason')), reason);
    status.addEventListener('change', () => { reasonBox.hidden = status.value !== 'not_done'; });
    return { i, status, reason,
      node: h('li', { class: 'intervention' }, h('label', { for: `${id}-i${i.id}` }, i.title), status, reasonBox) };
  });
  return h('form', {
    class: 'form', id: `${id}-form`,
    onsubmit: async (e) => {
      e.preventDefault();
      const startAt = dayAndTimeToDate(v.planned_start, start.value);
      const endAt = dayAndTimeToDate(v.planned_start, end.value);
      if (endAt <= startAt) { error.textContent = say('endBeforeStart'); return; }
      const common = { visit_id: v.id, adjust_reason: say('adjustReason'), post_registration: true };
      await outbox.enqueue({ type: 'visit_started', payload: { ...common, at: outbox.isoLocal(startAt) } });
      await outbox.enqueue({ type: 'visit_ended', payload: { ...common, at: outbox.isoLocal(endAt) } });
      for (const row of rows) {
        const payload = { visit_id: v.id, intervention_id: row.i.id, status: row.status.value, post_registration: true };
        if (payload.status === 'not_done') payload.reason = row.reason.value;
        await outbox.enqueue({ type: 'intervention_recorded', payload });
      }
      announce(say('saved'));
      ctx.rerender();
    },
  },
  h('div', { class: 'row' },
    h('label', { for: `${id}-start` }, say('start')), start,
    h('label', { for: `${id}-end` }, say('end')), end),
  rows.length ? h('ul', { class: 'interventions' }, rows.map((r) => r.node)) : null,
  error,
  h('button', { type: 'submit', class: 'primary', id: `${id}-save` }, say('save')));
}

function handOverForm(gap, ctx) {
  const id = `g${gap.id}`;
  const reason = h('input', { id: `${id}-handover-reason`, type: 'text', maxlength: 500 });
  return h('details', { class: 'handover' },
    h('summary', { id: `${id}-handover` }, say('handOver')),
    h('form', {
      class: 'form',
      onsubmit: async (e) => {
        e.preventDefault();
        const payload = { visit_id: gap.visit.id };
        if (reason.value.trim()) payload.reason = reason.value.trim();
        await outbox.enqueue({ type: 'gap_handed_over', payload });
        announce(say('handedOver'));
        ctx.rerender();
      },
    },
    h('label', { for: `${id}-handover-reason` }, say('handOverReason')), reason,
    h('button', { type: 'submit', id: `${id}-handover-confirm` }, say('handOverConfirm'))));
}

function gapCard(gap, ctx) {
  const v = gap.visit;
  const local = visitState(v.id);
  let action = null;
  if (local.rejected) action = h('p', { class: 'error' }, say('rejected'));
  else if (local.handedOver || (gap.route === 'admin' && gap.rule === 'handed_over')) action = h('p', { class: 'muted' }, say('handedOver'));
  else if (local.phase === 'done') action = h('p', { class: 'ok-text' }, local.unsynced ? say('recordedPending') : say('recorded'));
  else if (gap.state === 'open' && gap.route === 'self') action = [registrationForm(gap, ctx), handOverForm(gap, ctx)];
  const explanation = lang() === 'en' ? gap.explanation_en : gap.explanation;
  return h('li', { class: `card gap gap-${gap.state}`, id: `gap-${gap.id}`, 'data-visit': v.id },
    h('h2', {}, v.client_name),
    h('p', { class: 'visit-when' }, `${fmtDay(v.planned_start)} ${fmtTime(v.planned_start)}–${fmtTime(v.planned_end)}`),
    gap.state === 'open' ? routeBadge(gap) : h('span', { class: 'badge ok' }, say('closed')),
    deadlineText(gap),
    h('p', { class: 'explanation' }, explanation),
    action);
}

function ageOf(iso) {
  const minutes = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60000));
  return minutes < 1 ? t('age.just_now') : minutes < 60 ? t('age.minutes', { n: minutes }) : t('age.hours', { n: Math.floor(minutes / 60) });
}

export async function render(ctx) {
  await loadSaved();
  if (ctx.fresh) {
    // Ask the server in the background; the saved list is shown at once and redrawn when the answer comes.
    refresh().then((outcome) => { if (outcome === 'ok' || outcome === 'offline') ctx.rerender(); });
  }
  const open = gaps().filter((g) => g.state === 'open');
  const closed = gaps().filter((g) => g.state !== 'open');
  return h('section', { class: 'postreg' },
    h('h1', {}, t('postreg.title')),
    h('p', {}, say('intro')),
    lastOutcome === 'offline' ? h('p', { class: 'notice', role: 'status' }, say('offline')) : null,
    list ? h('p', { class: 'muted', id: 'postreg-age' }, say('listAge', { age: ageOf(list.as_of) }))
      : h('p', { class: 'muted' }, say('neverFetched')),
    open.length ? h('ul', { class: 'gaps', id: 'postreg-open' }, open.map((g) => gapCard(g, ctx)))
      : h('p', { id: 'postreg-empty' }, say('empty')),
    closed.length ? h('ul', { class: 'gaps closed', id: 'postreg-closed' }, closed.map((g) => gapCard(g, ctx))) : null);
}
