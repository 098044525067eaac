/* Today: the worker's visits in order, with client, address, interventions, key, partner and state. */
import { fmtDay, fmtTime, h, localDayKey } from '../dom.js';
import { t } from '../i18n.js';
import { visitState } from '../records.js';
import * as shift from '../shift.js';

function stateBadge(state) {
  const badges = [h('span', { class: `badge ${state.phase}` }, t(`visit.phase.${state.phase}`))];
  if (state.unsynced) badges.push(h('span', { class: 'badge unsynced' }, t('visit.unsynced')));
  if (state.rejected) badges.push(h('span', { class: 'badge rejected' }, t('visit.rejected')));
  return badges;
}

export function visitCard(v) {
  const client = shift.client(v.client_id) || {};
  const state = visitState(v.id);
  const partners = shift.partners(v);
  return h('li', { class: 'visit-item' },
    h('a', { class: 'visit-link', href: `#/visit/${v.id}` },
      h('span', { class: 'visit-time' }, `${fmtTime(v.planned_start)}–${fmtTime(v.planned_end)}`),
      h('span', { class: 'visit-client' }, client.name || t('visit.unknown_client')),
      h('span', { class: 'visit-address' }, client.address || ''),
      h('span', { class: 'visit-interventions' }, (v.interventions || []).map((i) => i.title).join(', ')),
      client.key && client.key.reference ? h('span', { class: 'visit-key' }, `${t('client.key')}: ${client.key.reference}`) : null,
      partners.length ? h('span', { class: 'visit-partner' }, `${t('visit.partner')}: ${partners.map((p) => p.display_name).join(', ')}`) : null,
      h('span', { class: 'badges' }, v.cancelled ? h('span', { class: 'badge rejected' }, t('visit.cancelled')) : v.revision ? h('span', { class: 'badge not_done' }, t('visit.changed')) : null, stateBadge(state))));
}

export function render() {
  const visits = shift.visits();
  if (!shift.hasCopy()) return h('section', { class: 'card' }, h('h1', {}, t('today.title')), h('p', {}, t('today.no_copy')));
  const section = h('section', {}, h('h1', {}, t('today.title')));
  if (!visits.length) section.append(h('p', { class: 'card' }, t('today.empty')));
  let day = null;
  let list = null;
  for (const v of visits) {
    const key = localDayKey(v.planned_start);
    if (key !== day) {
      day = key;
      section.append(h('h2', { class: 'day' }, fmtDay(v.planned_start)));
      list = h('ul', { class: 'visits' });
      section.append(list);
    }
    list.append(visitCard(v));
  }
  return section;
}
