/* The paper fallback: to-do list, care plans, medication lists and a blank registration form per visit.
 * Printing shows client data, so each printed client is access-logged like an opened record. */
import { fmtDay, fmtTime, h, localDayKey } from '../dom.js';
import { t } from '../i18n.js';
import * as outbox from '../outbox.js';
import * as shift from '../shift.js';
import { carePlan, medicationList } from './client.js';

const NOTE_LINES = 4;

// Wide tables scroll sideways on a phone; the scroll area must be reachable with the keyboard.
const scroller = (label, table) => h('div', { class: 'table-scroll', tabindex: '0', role: 'group', 'aria-label': label }, table);

function todo(visits) {
  return h('section', { class: 'print-section' },
    h('h2', {}, t('print.todo')),
    scroller(t('print.todo'), h('table', { class: 'todo' },
      h('thead', {}, h('tr', {}, ['print.col.time', 'print.col.client', 'print.col.address', 'print.col.key', 'print.col.interventions', 'print.col.done']
        .map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, visits.map((v, n) => {
        const c = shift.client(v.client_id) || {};
        const partners = shift.partners(v);
        const newDay = n === 0 || localDayKey(v.planned_start) !== localDayKey(visits[n - 1].planned_start);
        return [
          newDay ? h('tr', { class: 'day-row' }, h('th', { colspan: '6', scope: 'colgroup' }, fmtDay(v.planned_start))) : null,
          h('tr', {},
            h('td', {}, `${fmtTime(v.planned_start)}–${fmtTime(v.planned_end)}`),
            h('td', {}, c.name || '', partners.length ? h('div', { class: 'muted' }, `${t('visit.partner')}: ${partners.map((p) => p.display_name).join(', ')}`) : null),
            h('td', {}, c.address || ''),
            h('td', {}, c.key ? c.key.reference : ''),
            h('td', {}, (v.interventions || []).map((i) => i.title).join(', ')),
            h('td', { class: 'box' }, '☐')),
        ];
      })))));
}

function blankForm(v) {
  const c = shift.client(v.client_id) || {};
  const line = (label) => h('div', { class: 'fill' }, h('span', {}, label), h('span', { class: 'line' }));
  return h('section', { class: 'print-section form-sheet' },
    h('h2', {}, t('print.form_title')),
    h('p', {}, h('strong', {}, c.name || ''), ` · ${c.personal_number || ''} · ${c.address || ''}`),
    h('p', {}, `${fmtDay(v.planned_start)} · ${t('print.planned')} ${fmtTime(v.planned_start)}–${fmtTime(v.planned_end)}`),
    h('div', { class: 'fill-row' }, line(t('print.started')), line(t('print.ended'))),
    scroller(t('print.form_title'), h('table', { class: 'todo' },
      h('thead', {}, h('tr', {}, ['print.col.intervention', 'print.col.done', 'print.col.not_done', 'print.col.reason'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, (v.interventions || []).map((i) => h('tr', {},
        h('td', {}, i.title), h('td', { class: 'box' }, '☐'), h('td', { class: 'box' }, '☐'), h('td', { class: 'blank' }, '')))))),
    h('p', {}, t('print.note')),
    Array.from({ length: NOTE_LINES }, () => h('div', { class: 'line full' })),
    h('p', {}, t('print.deviation')),
    h('div', { class: 'line full' }),
    h('div', { class: 'fill-row' }, line(t('print.signature')), line(t('print.name_clarification'))));
}

export function render(ctx) {
  const visits = shift.visits();
  const clientIds = [...new Set(visits.map((v) => v.client_id))];
  if (ctx.fresh) {
    clientIds.forEach((id) => {
      outbox.enqueue({ type: 'client_record_opened', payload: { client_id: id, view: 'care_plan' } });
      if ((shift.client(id) || {}).medication_list) outbox.enqueue({ type: 'client_record_opened', payload: { client_id: id, view: 'medication_list' } });
    });
  }
  return h('section', { class: 'print' },
    h('div', { class: 'no-print' },
      h('h1', {}, t('print.title')),
      h('p', {}, t('print.help')),
      h('button', { type: 'button', class: 'primary big', id: 'print-now', onclick: () => window.print() }, t('print.now'))),
    todo(visits),
    h('section', { class: 'print-section' }, h('h2', {}, t('print.care_plans')),
      clientIds.map((id) => { const c = shift.client(id); return c ? h('div', { class: 'client-block' }, h('h3', {}, c.name), carePlan(c)) : null; })),
    h('section', { class: 'print-section' }, h('h2', {}, t('print.medication_lists')),
      clientIds.map((id) => { const c = shift.client(id); return c ? h('div', { class: 'client-block' }, h('h3', {}, `${c.name} (${c.personal_number || ''})`), medicationList(c)) : null; })),
    visits.map(blankForm));
}
