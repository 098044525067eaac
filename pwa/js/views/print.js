/* The paper fallback: what is left to do in a chosen period, person cards, care plans, medication lists to sign,
 * a form per visit not done and one for an unplanned visit; every page says when, for whom, how old, which page.
 * Printing shows client data, so each printed client is access-logged like an opened record. */
import { ageText, fmtDayYear, fmtTime, h, localDayKey } from '../dom.js';
import { t } from '../i18n.js';
import * as outbox from '../outbox.js';
import { handoversFor, visitState } from '../records.js';
import * as session from '../session.js';
import * as shift from '../shift.js';
import { carePlan } from './client.js';

const PERIODS = [4, 8, 12, 24, 0]; // hours ahead; 0: everything on the phone
const NOT_DONE_REASONS = ['declined', 'client_absent', 'other'];
const DEVIATIONS = ['fall', 'medication', 'missed_visit', 'outage', 'injury', 'other'];
let hours = 12;
let logged = new Set(); // client:view printed since the screen was opened

const box = (label) => h('span', { class: 'check' }, `☐ ${label}`);
const line = (label) => h('div', { class: 'fill' }, h('span', {}, label), h('span', { class: 'line' }));
const lines = (n) => Array.from({ length: n }, () => h('div', { class: 'line full' }));
const who = (c) => `${c.name || ''}${c.personal_number ? ` (${c.personal_number})` : ''}`; // two of a name told apart
const scroller = (label, table) => h('div', { class: 'table-scroll', tabindex: '0', role: 'group', 'aria-label': label }, table);
const table = (cols, rows) => h('table', { class: 'todo' },
  h('thead', {}, h('tr', {}, cols.map((k) => h('th', { scope: 'col' }, t(k))))), h('tbody', {}, rows));

/** The period's visits with their state: today's done ones (marked, no form) and all not done (a past one too). */
function toDo(now) {
  const until = hours ? now + hours * 3600000 : Infinity;
  const today = localDayKey(new Date(now));
  return shift.visits().map((v) => ({ v, state: visitState(v.id) }))
    .filter(({ v, state }) => new Date(v.planned_start) < until && (state.phase !== 'done' || localDayKey(v.planned_start) === today));
}

function stateCell(state) {
  if (state.phase === 'done') return h('td', {}, t('print.done_in_app', { time: fmtTime(state.endedAt) }));
  return h('td', { class: 'box' }, state.startedAt ? t('print.started_in_app', { time: fmtTime(state.startedAt) }) : '☐');
}

function todo(items) {
  return h('section', { class: 'print-section' }, h('h2', {}, t('print.todo')),
    items.length ? scroller(t('print.todo'), table(['print.col.time', 'print.col.client', 'print.col.address', 'print.col.interventions', 'print.col.done'],
      items.map(({ v, state }) => {
        const c = shift.client(v.client_id) || {};
        const partners = shift.partners(v);
        return h('tr', { class: state.phase === 'done' ? 'done' : null },
          h('td', {}, `${fmtDayYear(v.planned_start)} ${fmtTime(v.planned_start)}–${fmtTime(v.planned_end)}`),
          h('td', {}, who(c), partners.length ? h('div', {}, `${t('visit.partner')}: ${partners.map((p) => p.display_name).join(', ')}`) : null),
          h('td', {}, c.address || '', c.key ? h('div', {}, `${t('client.key')}: ${c.key.reference}`) : null),
          h('td', {}, (v.interventions || []).map((i) => i.title).join(', ')),
          stateCell(state));
      }))) : h('p', {}, t('print.nothing')));
}

function personCard(c) {
  const card = c.person_card || {};
  const nurse = card.responsible_nurse;
  return h('div', { class: 'client-block' }, h('h3', {}, who(c)),
    card.notes ? h('p', { class: 'warning' }, h('strong', {}, `${t('client.card_notes')}: `), card.notes) : null,
    h('dl', { class: 'facts' },
      h('dt', {}, t('client.address')), h('dd', {}, c.address || '–'),
      h('dt', {}, t('client.phone')), h('dd', {}, c.phone || '–'),
      h('dt', {}, t('client.key')), h('dd', {}, c.key ? [c.key.reference, c.key.note].filter(Boolean).join(' – ') : '–'),
      h('dt', {}, t('client.nurse')), h('dd', {}, nurse ? `${nurse.name} ${nurse.phone || ''}` : '–'),
      h('dt', {}, t('client.relatives')), h('dd', {}, (card.relatives || []).map((r) => h('div', {}, `${r.name} (${r.relation}) ${r.phone || ''}`)))));
}

function medicationSheet(c) {
  return h('div', { class: 'client-block' }, h('h3', {}, who(c)),
    scroller(t('client.view.medication_list'), table(['client.view.medication_list', 'meds.dose', 'meds.note', 'print.col.time', 'print.col.given'],
      c.medication_list.flatMap((m) => (m.times && m.times.length ? m.times : ['']).map((time) => h('tr', {},
        h('td', {}, m.name), h('td', {}, m.dose || ''), h('td', {}, m.note || ''), h('td', {}, time), h('td', { class: 'blank' }, '')))))));
}

function form(v, c) {
  const partners = v ? shift.partners(v) : [];
  const interventions = v ? v.interventions || [] : Array.from({ length: 4 }, () => ({ title: '' }));
  return h('section', { class: 'print-section form-sheet' },
    h('h2', {}, v ? t('print.form_title') : t('print.unplanned_title')),
    v ? [h('p', {}, h('strong', {}, who(c)), ` · ${c.address || ''}`),
      h('p', {}, `${fmtDayYear(v.planned_start)} · ${t('print.planned')} ${fmtTime(v.planned_start)}–${fmtTime(v.planned_end)}`),
      partners.length ? h('p', {}, `${t('visit.partner')}: ${partners.map((p) => p.display_name).join(', ')}`) : null,
      handoversFor(v.id).map((n) => h('p', { class: 'warning handover-print' }, h('strong', {}, `${t('handover.title')}: `), n.text,
        ` (${t('handover.by', { author: n.author, time: `${fmtDayYear(n.written_at)} ${fmtTime(n.written_at)}` })})`))]
      : h('div', { class: 'fill-row' }, line(t('print.col.client')), line(t('client.personal_number')), line(t('client.address')), line(t('print.date'))),
    h('div', { class: 'fill-row' }, line(t('print.started')), line(t('print.ended')), line(t('visit.partner'))),
    h('p', { class: 'checks' }, box(t('print.not_happened')), ' – ', NOT_DONE_REASONS.map((r) => box(t(`reason.${r}`)))),
    scroller(t('visit.interventions'), table(['print.col.intervention', 'print.col.done', 'print.col.not_done', 'print.col.reason'],
      interventions.map((i) => h('tr', {}, h('td', {}, i.title), h('td', { class: 'box' }, '☐'), h('td', { class: 'box' }, '☐'),
        h('td', {}, NOT_DONE_REASONS.map((r) => box(t(`reason.${r}`)))))))),
    h('p', {}, t('print.note'), ' ', box(t('note.handover'))), lines(3),
    h('p', { class: 'checks' }, t('print.deviation'), ' ', DEVIATIONS.map((k) => box(t(`deviation.category.${k}`)))),
    lines(2),
    h('div', { class: 'fill-row' }, line(t('print.signature')), line(t('print.name_clarification'))));
}

/** Printed-at, data age, worker and page numbers in every page's margin (a constructed sheet: the CSP allows it). */
function pageMargins(printed) {
  const name = (session.user() || {}).display_name || '';
  const asOf = shift.asOf();
  const q = (s) => JSON.stringify(s);
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`@page { @top-left { content: ${q(`${t('print.title')} · ${name}`)}; }
    @top-right { content: ${q(`${t('print.printed', { time: printed })}${asOf ? ` · ${t('print.data_from', { time: fmtTime(asOf), age: ageText(asOf) })}` : ''}`)}; }
    @bottom-right { content: ${q(`${t('print.page')} `)} counter(page) ${q(` ${t('print.of')} `)} counter(pages); } }`);
  document.adoptedStyleSheets = [sheet];
}

function logPrinted(id, view) {
  if (logged.has(`${id}:${view}`)) return;
  logged.add(`${id}:${view}`);
  outbox.enqueue({ type: 'client_record_opened', payload: { client_id: id, view } });
}

export function render(ctx) {
  if (ctx.fresh) logged = new Set();
  const now = Date.now();
  const items = toDo(now);
  const clients = [...new Set(items.map(({ v }) => v.client_id))].map((id) => shift.client(id)).filter(Boolean);
  clients.forEach((c) => ['person_card', 'care_plan', ...(c.medication_list ? ['medication_list'] : [])].forEach((view) => logPrinted(c.id, view)));
  const printed = `${fmtDayYear(new Date(now))} ${fmtTime(new Date(now))}`;
  pageMargins(printed);
  const name = (session.user() || {}).display_name || '';
  const asOf = shift.asOf();
  return h('section', { class: 'print' },
    h('div', { class: 'no-print form' },
      h('h1', {}, t('print.title')),
      h('p', {}, t('print.help')),
      h('label', { for: 'print-period' }, t('print.period')),
      h('select', { id: 'print-period', onchange: (e) => { hours = Number(e.target.value); ctx.rerender(); } },
        PERIODS.map((n) => h('option', { value: n, selected: n === hours }, n ? t('print.period_h', { n }) : t('print.period_all')))),
      h('button', { type: 'button', class: 'primary big', id: 'print-now', onclick: () => window.print() }, t('print.now'))),
    h('p', { class: 'print-meta' }, [t('print.for', { name }), t('print.printed', { time: printed }),
      asOf ? t('print.data_from', { time: fmtTime(asOf), age: ageText(asOf) }) : null].filter(Boolean).join(' · ')),
    todo(items),
    h('section', { class: 'print-section' }, h('h2', {}, t('print.person_cards')), clients.map(personCard)),
    h('section', { class: 'print-section' }, h('h2', {}, t('print.care_plans')),
      clients.map((c) => h('div', { class: 'client-block' }, h('h3', {}, who(c)), carePlan(c)))),
    h('section', { class: 'print-section' }, h('h2', {}, t('print.medication_lists')),
      clients.filter((c) => c.medication_list).map(medicationSheet)),
    items.filter(({ state }) => state.phase !== 'done').map(({ v }) => form(v, shift.client(v.client_id) || {})),
    form(null, null));
}
