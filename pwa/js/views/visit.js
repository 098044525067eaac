/* One visit: start/end, interventions done / not done, note, deviation — each an outbox event, online or not;
 * first the handover notes left for it (Till nästa besök) until "Läst".
 * A tapped button becomes what it recorded; a second tap asks; ending lists what is unrecorded (issue 31). */
import { announce, dayAndTimeToDate, fmtDay, fmtTime, h } from '../dom.js';
import { reachable } from '../api.js';
import { t } from '../i18n.js';
import * as outbox from '../outbox.js';
import { handoversFor, visitState } from '../records.js';
import * as shift from '../shift.js';

const DEVIATION_CATEGORIES = ['fall', 'medication', 'missed_visit', 'outage', 'injury', 'other'];
const NOT_DONE_REASONS = ['declined', 'client_absent', 'other'];
const ADJUST_TOLERANCE_MS = 2 * 60 * 1000; // the protocol's limit before a reason is required
let saved = {}; // note / deviation just saved on this visit: {visit, kind, at}, shown beside its form

async function record(type, payload, ctx) {
  const event = await outbox.enqueue({ type, payload });
  saved = { visit: payload.visit_id, kind: type, at: event.occurred_at };
  announce(t(navigator.onLine && reachable() !== false ? 'saved.online' : 'saved.offline'));
  ctx.rerender();
}

function select(id, options, labelPrefix, extra = {}, placeholder = null) {
  return h('select', { id, ...extra }, placeholder ? h('option', { value: '' }, placeholder) : null,
    options.map((o) => h('option', { value: o }, t(`${labelPrefix}.${o}`))));
}

function unrecorded(v, state) {
  return (v.interventions || []).filter((i) => !state.interventions.has(i.id));
}

function mainAction(v, state, ctx) {
  const box = h('div', { class: 'card main-action', id: 'visit-actions' });
  if (state.startedAt) box.append(h('p', { class: 'done-time' }, `✓ ${t('visit.started_at', { time: fmtTime(state.startedAt) })}`));
  if (state.endedAt) box.append(h('p', { class: 'done-time' }, `✓ ${t('visit.ended_at', { time: fmtTime(state.endedAt) })}`));
  if (!state.startedAt) {
    box.append(h('button', {
      type: 'button', class: 'primary big', id: 'start-visit', onclick: () => record('visit_started', { visit_id: v.id }, ctx),
    }, t('visit.start')));
  } else if (!state.endedAt) {
    const confirm = h('div', { class: 'ask', id: 'end-confirm', role: 'alert', hidden: true });
    const end = () => record('visit_ended', { visit_id: v.id }, ctx);
    box.append(h('button', {
      type: 'button', class: 'primary big', id: 'end-visit',
      onclick: () => {
        const missing = unrecorded(v, state);
        if (!missing.length) return end();
        confirm.replaceChildren(
          h('p', {}, t('visit.end_unrecorded')),
          h('ul', {}, missing.map((i) => h('li', {}, i.title))),
          h('div', { class: 'actions' },
            h('button', { type: 'button', id: 'end-back', onclick: () => { confirm.hidden = true; document.getElementById('interventions').scrollIntoView(); } }, t('visit.end_back')),
            h('button', { type: 'button', class: 'primary', id: 'end-anyway', onclick: end }, t('visit.end_anyway'))));
        confirm.hidden = false;
        confirm.scrollIntoView({ block: 'nearest' });
        confirm.querySelector('button').focus();
      },
    }, t('visit.end')), confirm);
  }
  return box;
}

function adjustForm(kind, v, ctx) {
  const type = kind === 'start' ? 'visit_started' : 'visit_ended';
  const time = h('input', { id: `${kind}-time`, type: 'time', required: true });
  const reason = h('input', { id: `${kind}-reason`, type: 'text', maxlength: 200 });
  const error = h('p', { class: 'error', role: 'alert' });
  return h('details', { class: 'adjust' },
    h('summary', {}, t(`visit.adjust_${kind}`)),
    h('form', {
      class: 'form',
      onsubmit: (e) => {
        e.preventDefault();
        const at = dayAndTimeToDate(v.planned_start, time.value);
        const payload = { visit_id: v.id, at: outbox.isoLocal(at) };
        if (Math.abs(at.getTime() - Date.now()) > ADJUST_TOLERANCE_MS) {
          if (!reason.value.trim()) { error.textContent = t('visit.adjust_reason_needed'); return; }
          payload.adjust_reason = reason.value.trim();
        }
        record(type, payload, ctx);
      },
    },
    h('label', { for: `${kind}-time` }, t(`visit.${kind}_time`)), time,
    h('label', { for: `${kind}-reason` }, t('visit.adjust_reason')), reason,
    error,
    h('button', { type: 'submit' }, t('visit.adjust_save'))));
}

function interventionRow(v, intervention, state, ctx) {
  const current = state.interventions.get(intervention.id);
  const id = `i${intervention.id}`;
  const done = Boolean(current && current.status === 'done');
  const reason = select(`${id}-reason`, NOT_DONE_REASONS, 'reason');
  const comment = h('input', { id: `${id}-comment`, type: 'text', maxlength: 500 });
  const ask = h('div', { class: 'ask', id: `${id}-ask`, role: 'alert', hidden: true });
  const notDone = h('details', { class: 'not-done' },
    h('summary', {}, t('intervention.mark_not_done')),
    h('form', {
      class: 'form',
      onsubmit: (e) => {
        e.preventDefault();
        const payload = { visit_id: v.id, intervention_id: intervention.id, status: 'not_done', reason: reason.value };
        if (comment.value.trim()) payload.comment = comment.value.trim();
        record('intervention_recorded', payload, ctx);
      },
    },
    h('label', { for: `${id}-reason` }, t('intervention.reason')), reason,
    h('label', { for: `${id}-comment` }, t('intervention.comment')), comment,
    h('button', { type: 'submit', id: `${id}-not-done` }, t('intervention.save_not_done'))));
  const markDone = () => record('intervention_recorded', { visit_id: v.id, intervention_id: intervention.id, status: 'done' }, ctx);
  const keep = h('button', { type: 'button', onclick: () => { ask.hidden = true; } }, t('intervention.keep'));
  const askAgain = () => {
    ask.replaceChildren(done
      ? h('p', {}, t('intervention.ask_done', { time: current.at ? fmtTime(current.at) : '' }))
      : h('p', {}, t('intervention.ask_not_done', { reason: t(`reason.${current.reason}`) })),
    h('div', { class: 'actions' }, keep, done
      ? h('button', { type: 'button', onclick: () => { ask.hidden = true; notDone.open = true; reason.focus(); } }, t('intervention.change_not_done'))
      : h('button', { type: 'button', class: 'primary', onclick: markDone }, t('intervention.change_done'))));
    ask.hidden = false;
    keep.focus();
  };
  const label = done ? `✓ ${current.at ? t('intervention.done_at', { time: fmtTime(current.at) }) : t('intervention.done')}` : t('intervention.mark_done');
  return h('li', { class: `intervention${current ? ` recorded ${current.status}` : ''}` },
    h('div', { class: 'intervention-head' },
      h('strong', {}, intervention.title),
      h('span', { class: 'muted' }, t('visit.minutes', { n: intervention.planned_minutes }))),
    current && !done ? h('p', { class: 'row-state' }, t('intervention.not_done_as', { reason: t(`reason.${current.reason}`) })) : null,
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: `ok${done ? ' pressed' : ''}`, id: `${id}-done`, 'aria-pressed': String(done),
        onclick: current ? askAgain : markDone,
      }, label)),
    ask,
    notDone);
}

const savedMark = (v, type) => (saved.visit === v.id && saved.kind === type
  ? h('p', { class: 'done-time' }, `✓ ${t('saved.at', { time: fmtTime(saved.at) })}`) : null);

function handoverCard(v, ctx) {
  const notes = handoversFor(v.id);
  if (!notes.length) return null;
  return h('section', { class: 'card handover', id: 'handover', 'aria-labelledby': 'handover-title' },
    h('h2', { id: 'handover-title' }, t('handover.title')),
    h('ul', {}, notes.map((n) => h('li', { class: 'handover-note' },
      h('p', { class: 'handover-text', id: `handover-${n.id}` }, n.text),
      h('p', {}, t('handover.by', { author: n.author, time: `${fmtDay(n.written_at)} ${fmtTime(n.written_at)}` }),
        n.visit_start ? ` – ${t('handover.at_visit', { time: fmtTime(n.visit_start) })}` : ''),
      h('button', {
        type: 'button', class: 'ok handover-read', 'aria-describedby': `handover-${n.id}`,
        onclick: () => record('handover_acknowledged', { note_id: n.id, client_id: n.client_id }, ctx),
      }, t('handover.read'))))));
}

function noteForm(v, ctx) {
  const text = h('textarea', { id: 'note-text', rows: 3, maxlength: 4000, required: true });
  const handover = h('input', { id: 'note-handover', type: 'checkbox', 'aria-describedby': 'note-handover-help' });
  return h('form', {
    class: 'form card',
    onsubmit: (e) => {
      e.preventDefault();
      if (!text.value.trim()) return;
      const payload = { client_id: v.client_id, visit_id: v.id, text: text.value.trim() };
      if (handover.checked) payload.handover = true;
      record('note_added', payload, ctx);
    },
  },
  h('h2', {}, t('note.title')),
  savedMark(v, 'note_added'),
  h('label', { for: 'note-text' }, t('note.text')), text,
  h('label', { class: 'check', for: 'note-handover' }, handover, t('note.handover')),
  h('p', { class: 'muted', id: 'note-handover-help' }, t('note.handover_help')),
  h('button', { type: 'submit', id: 'note-save' }, t('note.save')));
}

function deviationForm(v, ctx) {
  const category = select('deviation-category', DEVIATION_CATEGORIES, 'deviation.category', { required: true }, t('deviation.choose'));
  const description = h('textarea', { id: 'deviation-text', rows: 4, maxlength: 4000, required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  return [savedMark(v, 'deviation_reported'), h('details', { class: 'card deviation', id: 'deviation' },
    h('summary', {}, t('deviation.open')),
    h('form', {
      class: 'form',
      onsubmit: (e) => {
        e.preventDefault();
        if (!category.value) { error.textContent = t('deviation.category_needed'); category.focus(); return; }
        if (!description.value.trim()) return;
        record('deviation_reported', {
          category: category.value, description: description.value.trim(), client_id: v.client_id, visit_id: v.id,
        }, ctx);
      },
    },
    h('h2', {}, t('deviation.title')),
    h('label', { for: 'deviation-category' }, t('deviation.category_label')), category,
    h('label', { for: 'deviation-text' }, t('deviation.description')), description,
    error,
    h('button', { type: 'submit', id: 'deviation-save' }, t('deviation.save'))))];
}

export function render(ctx) {
  const v = shift.visit(ctx.params.id);
  if (!v) return h('section', { class: 'card' }, h('h1', {}, t('visit.missing')), h('a', { href: '#/today' }, t('nav.today')));
  const client = shift.client(v.client_id) || {};
  const state = visitState(v.id);
  const partners = shift.partners(v);
  return h('section', { class: 'visit' },
    h('h1', {}, client.name || t('visit.unknown_client')),
    h('p', { class: 'visit-when' }, `${fmtDay(v.planned_start)} ${fmtTime(v.planned_start)}–${fmtTime(v.planned_end)}`,
      client.address ? h('br') : null, client.address || ''),
    handoverCard(v, ctx),
    mainAction(v, state, ctx),
    h('div', { class: 'card', id: 'interventions' }, h('h2', {}, t('visit.interventions')),
      h('ul', { class: 'interventions' }, (v.interventions || []).map((i) => interventionRow(v, i, state, ctx)))),
    h('dl', { class: 'facts card' },
      h('dt', {}, t('client.key')), h('dd', {}, client.key ? [client.key.reference, client.key.note].filter(Boolean).join(' – ') : '–'),
      partners.length ? [h('dt', {}, t('visit.partner')), h('dd', {}, partners.map((p) => p.display_name).join(', '))] : null,
      v.instructions ? [h('dt', {}, t('visit.instructions')), h('dd', {}, v.instructions)] : null),
    h('p', {}, h('a', { class: 'button-link', href: `#/client/${v.client_id}` }, t('visit.open_client'))),
    noteForm(v, ctx),
    deviationForm(v, ctx),
    h('div', { class: 'card times' }, h('h2', {}, t('visit.times')), adjustForm('start', v, ctx), state.startedAt ? adjustForm('end', v, ctx) : null));
}
