/* Today: the visits in order with client, address, interventions, key, partner and state; past (done or missing
 * a registration), current and next look different, and the screen opens at the current or next one. */
import { fmtDay, fmtTime, h, localDayKey } from '../dom.js';
import { t } from '../i18n.js';
import { handoversFor, visitState } from '../records.js';
import * as shift from '../shift.js';

/** 'past' | 'current' | 'next' | 'later', and the phase the badge shows ('missing' for a past visit never ended). */
export function timing(v, state, now = Date.now()) {
  const start = new Date(v.planned_start).getTime();
  const end = new Date(v.planned_end).getTime();
  if (state.phase === 'ongoing' || (state.phase === 'not_started' && start <= now && now < end)) return 'current';
  if (state.phase === 'done' || end <= now) return 'past';
  return 'later';
}

function badges(v, state, when) {
  const phase = when === 'past' && state.phase !== 'done' ? 'missing' : state.phase;
  const out = [h('span', { class: `badge ${phase}` }, t(`visit.phase.${phase}`))];
  // moved, re-staffed or cancelled by the planning system after an earlier pull (docs/import/README.md)
  if (v.cancelled) out.unshift(h('span', { class: 'badge rejected' }, t('visit.cancelled')));
  else if (v.revision) out.push(h('span', { class: 'badge not_done' }, t('visit.changed')));
  if (when === 'current') out.unshift(h('span', { class: 'badge now' }, t('visit.now')));
  if (when === 'next') out.unshift(h('span', { class: 'badge next' }, t('visit.next')));
  if (state.unsynced) out.push(h('span', { class: 'badge unsynced' }, t('visit.unsynced')));
  if (state.rejected) out.push(h('span', { class: 'badge rejected' }, t('visit.rejected')));
  if (handoversFor(v.id).length) out.push(h('span', { class: 'badge handover' }, t('visit.handover')));
  return out;
}

export function visitCard(v, when = 'later', openAt = false) {
  const client = shift.client(v.client_id) || {};
  const state = visitState(v.id);
  const partners = shift.partners(v);
  const missing = when === 'past' && state.phase !== 'done';
  return h('li', { class: `visit-item ${when}${missing ? ' missing' : ''}`, 'data-open-at': openAt ? '' : null },
    h('a', { class: 'visit-link', href: `#/visit/${v.id}` },
      h('span', { class: 'badges' }, badges(v, state, when)),
      h('span', { class: 'visit-time' }, `${fmtTime(v.planned_start)}–${fmtTime(v.planned_end)}`),
      h('span', { class: 'visit-client' }, client.name || t('visit.unknown_client')),
      h('span', { class: 'visit-address' }, client.address || ''),
      h('span', { class: 'visit-interventions' }, (v.interventions || []).map((i) => i.title).join(', ')),
      client.key && client.key.reference ? h('span', { class: 'visit-key' }, `${t('client.key')}: ${client.key.reference}`) : null,
      partners.length ? h('span', { class: 'visit-partner' }, `${t('visit.partner')}: ${partners.map((p) => p.display_name).join(', ')}`) : null));
}

export function render() {
  const visits = shift.visits();
  if (!shift.hasCopy()) return h('section', { class: 'card' }, h('h1', {}, t('today.title')), h('p', {}, t('today.no_copy')));
  const section = h('section', {}, h('h1', {}, t('today.title')));
  if (!visits.length) section.append(h('p', { class: 'card' }, t('today.empty')));
  const whens = visits.map((v) => timing(v, visitState(v.id)));
  const next = whens.indexOf('later');
  if (next >= 0) whens[next] = 'next';
  const current = whens.indexOf('current');
  const openAt = current >= 0 ? current : next; // none (the shift is over) or the first: stay at the top
  let day = null;
  let list = null;
  visits.forEach((v, n) => {
    const key = localDayKey(v.planned_start);
    if (key !== day) {
      day = key;
      section.append(h('h2', { class: 'day' }, fmtDay(v.planned_start)));
      list = h('ul', { class: 'visits' });
      section.append(list);
    }
    list.append(visitCard(v, whens[n], n > 0 && n === openAt));
  });
  return section;
}
