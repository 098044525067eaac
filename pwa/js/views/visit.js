/* One visit: start/end with one tap (adjustable with a reason), interventions done / not done, note,
 * deviation report. Everything is an outbox event, so it works the same online and offline. */
import { fmtDateTime, fmtTime, h, dayAndTimeToDate, toast } from '../dom.js';
import { t } from '../i18n.js';
import * as outbox from '../outbox.js';
import { visitState } from '../records.js';
import * as shift from '../shift.js';

const DEVIATION_CATEGORIES = ['fall', 'medication', 'missed_visit', 'outage', 'injury', 'other'];
const NOT_DONE_REASONS = ['declined', 'client_absent', 'other'];
const ADJUST_TOLERANCE_MS = 2 * 60 * 1000; // the protocol's limit before a reason is required

async function record(type, payload, ctx, message = t('saved')) {
  await outbox.enqueue({ type, payload });
  toast(message);
  ctx.rerender();
}

function select(id, options, labelPrefix, extra = {}) {
  return h('select', { id, ...extra }, options.map((o) => h('option', { value: o }, t(`${labelPrefix}.${o}`))));
}

function timeControl(kind, v, state, ctx) {
  const done = kind === 'start' ? state.startedAt : state.endedAt;
  const type = kind === 'start' ? 'visit_started' : 'visit_ended';
  const box = h('div', { class: 'timebox' });
  if (done) box.append(h('p', { class: 'done-time' }, t(`visit.${kind}ed_at`, { time: fmtTime(done) })));
  else {
    box.append(h('button', {
      type: 'button', class: 'primary big', id: `${kind}-visit`,
      disabled: kind === 'end' && !state.startedAt,
      onclick: () => record(type, { visit_id: v.id }, ctx),
    }, t(`visit.${kind}`)));
  }
  const time = h('input', { id: `${kind}-time`, type: 'time', required: true });
  const reason = h('input', { id: `${kind}-reason`, type: 'text', maxlength: 200 });
  const error = h('p', { class: 'error', role: 'alert' });
  box.append(h('details', { class: 'adjust' },
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
    h('button', { type: 'submit' }, t('visit.adjust_save')))));
  return box;
}

function interventionRow(v, intervention, state, ctx) {
  const current = state.interventions.get(intervention.id);
  const id = `i${intervention.id}`;
  const reason = select(`${id}-reason`, NOT_DONE_REASONS, 'reason');
  const comment = h('input', { id: `${id}-comment`, type: 'text', maxlength: 500 });
  return h('li', { class: 'intervention' },
    h('div', { class: 'intervention-head' },
      h('strong', {}, intervention.title),
      h('span', { class: 'muted' }, t('visit.minutes', { n: intervention.planned_minutes })),
      current ? h('span', { class: `badge ${current.status}` }, t(`intervention.${current.status}`)) : null),
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', class: 'ok', id: `${id}-done`,
        onclick: () => record('intervention_recorded', { visit_id: v.id, intervention_id: intervention.id, status: 'done' }, ctx),
      }, t('intervention.mark_done'))),
    h('details', {},
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
      h('button', { type: 'submit', id: `${id}-not-done` }, t('intervention.save_not_done')))));
}

function noteForm(v, ctx) {
  const text = h('textarea', { id: 'note-text', rows: 4, maxlength: 4000, required: true });
  return h('form', {
    class: 'form card',
    onsubmit: (e) => {
      e.preventDefault();
      if (!text.value.trim()) return;
      record('note_added', { client_id: v.client_id, visit_id: v.id, text: text.value.trim() }, ctx);
    },
  },
  h('h2', {}, t('note.title')),
  h('label', { for: 'note-text' }, t('note.text')), text,
  h('button', { type: 'submit', id: 'note-save' }, t('note.save')));
}

function deviationForm(v, ctx) {
  const category = select('deviation-category', DEVIATION_CATEGORIES, 'deviation.category');
  const description = h('textarea', { id: 'deviation-text', rows: 4, maxlength: 4000, required: true });
  return h('form', {
    class: 'form card',
    onsubmit: (e) => {
      e.preventDefault();
      if (!description.value.trim()) return;
      record('deviation_reported', {
        category: category.value, description: description.value.trim(), client_id: v.client_id, visit_id: v.id,
      }, ctx);
    },
  },
  h('h2', {}, t('deviation.title')),
  h('label', { for: 'deviation-category' }, t('deviation.category_label')), category,
  h('label', { for: 'deviation-text' }, t('deviation.description')), description,
  h('button', { type: 'submit', id: 'deviation-save' }, t('deviation.save')));
}

export function render(ctx) {
  const v = shift.visit(ctx.params.id);
  if (!v) return h('section', { class: 'card' }, h('h1', {}, t('visit.missing')), h('a', { href: '#/today' }, t('nav.today')));
  const client = shift.client(v.client_id) || {};
  const state = visitState(v.id);
  const partners = shift.partners(v);
  return h('section', { class: 'visit' },
    h('h1', {}, client.name || t('visit.unknown_client')),
    h('p', { class: 'visit-when' }, `${fmtDateTime(v.planned_start)}–${fmtTime(v.planned_end)}`),
    h('dl', { class: 'facts' },
      h('dt', {}, t('client.address')), h('dd', {}, client.address || '–'),
      h('dt', {}, t('client.key')), h('dd', {}, client.key ? [client.key.reference, client.key.note].filter(Boolean).join(' – ') : '–'),
      partners.length ? [h('dt', {}, t('visit.partner')), h('dd', {}, partners.map((p) => p.display_name).join(', '))] : null,
      v.instructions ? [h('dt', {}, t('visit.instructions')), h('dd', {}, v.instructions)] : null),
    h('p', {}, h('a', { class: 'button-link', href: `#/client/${v.client_id}` }, t('visit.open_client'))),
    h('div', { class: 'card times' }, h('h2', {}, t('visit.times')), timeControl('start', v, state, ctx), timeControl('end', v, state, ctx)),
    h('div', { class: 'card' }, h('h2', {}, t('visit.interventions')),
      h('ul', { class: 'interventions' }, (v.interventions || []).map((i) => interventionRow(v, i, state, ctx)))),
    noteForm(v, ctx),
    deviationForm(v, ctx));
}
