/* A client's record, read-only: overview, person card, care plan, medication list.
 * Every view opened is recorded as `client_record_opened` (access log, offline too). */
import { fmtDateTime, h } from '../dom.js';
import { t } from '../i18n.js';
import * as outbox from '../outbox.js';
import * as shift from '../shift.js';

const VIEWS = ['overview', 'person_card', 'care_plan', 'medication_list'];
let opened = new Set(); // views logged during this opening of the record

function logOpen(clientId, view) {
  if (opened.has(view)) return;
  opened.add(view);
  outbox.enqueue({ type: 'client_record_opened', payload: { client_id: clientId, view } });
}

function overview(c) {
  return h('dl', { class: 'facts' },
    h('dt', {}, t('client.personal_number')), h('dd', {}, c.personal_number || '–'),
    h('dt', {}, t('client.address')), h('dd', {}, c.address || '–'),
    h('dt', {}, t('client.phone')), h('dd', {}, c.phone ? h('a', { href: `tel:${c.phone}` }, c.phone) : '–'),
    h('dt', {}, t('client.key')), h('dd', {}, c.key ? [c.key.reference, c.key.note].filter(Boolean).join(' – ') : '–'));
}

function personCard(c) {
  const card = c.person_card || {};
  const nurse = card.responsible_nurse;
  return h('div', {},
    h('h3', {}, t('client.relatives')),
    (card.relatives || []).length
      ? h('ul', { class: 'plain' }, card.relatives.map((r) => h('li', {}, `${r.name} (${r.relation})`, r.phone ? [' – ', h('a', { href: `tel:${r.phone}` }, r.phone)] : null)))
      : h('p', {}, '–'),
    h('h3', {}, t('client.nurse')),
    nurse ? h('p', {}, nurse.name, nurse.phone ? [' – ', h('a', { href: `tel:${nurse.phone}` }, nurse.phone)] : null) : h('p', {}, '–'),
    h('h3', {}, t('client.key')),
    h('p', {}, c.key ? [c.key.reference, c.key.note].filter(Boolean).join(' – ') : '–'),
    card.notes ? [h('h3', {}, t('client.card_notes')), h('p', {}, card.notes)] : null);
}

export function carePlan(c) {
  const plan = c.care_plan || {};
  return h('div', {},
    h('p', {}, plan.summary || '–'),
    h('ul', { class: 'plain' }, (plan.interventions || []).map((i) => h('li', {},
      h('strong', {}, i.title), ` (${t('visit.minutes', { n: i.planned_minutes })})`, i.description ? h('div', {}, i.description) : null))));
}

/** One card per medicine: name, dose, times and note each on their own line, all wrapping (no table to cut). */
export function medicationList(c) {
  if (!c.medication_list) return h('p', {}, t('client.no_medication_list'));
  return h('ul', { class: 'med-list' }, c.medication_list.map((m) => h('li', { class: 'med' },
    h('div', { class: 'med-name' }, m.name),
    h('dl', { class: 'facts' },
      h('dt', {}, t('meds.dose')), h('dd', {}, m.dose || '–'),
      h('dt', {}, t('meds.times')), h('dd', {}, (m.times || []).join(', ') || '–'),
      m.note ? [h('dt', {}, t('meds.note')), h('dd', {}, m.note)] : null))));
}

const SECTIONS = { overview, person_card: personCard, care_plan: carePlan, medication_list: medicationList };

export function render(ctx) {
  const c = shift.client(ctx.params.id);
  if (!c) return h('section', { class: 'card' }, h('h1', {}, t('client.missing')));
  if (ctx.fresh) opened = new Set();
  const body = h('div', { class: 'card', id: 'client-section', role: 'tabpanel', tabindex: '0' });
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('client.sections') });
  const show = (view) => {
    tabs.querySelectorAll('button').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.view === view)));
    body.replaceChildren(h('h2', {}, t(`client.view.${view}`)), SECTIONS[view](c));
    body.setAttribute('aria-labelledby', `tab-${view}`);
    logOpen(c.id, view);
  };
  VIEWS.forEach((view) => tabs.append(h('button', {
    type: 'button', role: 'tab', id: `tab-${view}`, 'data-view': view, 'aria-controls': 'client-section',
    onclick: () => show(view),
  }, t(`client.view.${view}`))));
  show('overview');
  return h('section', {},
    h('h1', {}, c.name),
    h('p', { class: 'muted' }, t('client.read_only', { time: c.updated_at ? fmtDateTime(c.updated_at) : '–' })),
    tabs, body);
}
