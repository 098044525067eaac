/* Sync: what is not yet on the server, what was sent, what was rejected and why; "Synka nu". */
import { fmtDateTime, fmtTime, h } from '../dom.js';
import { has, t } from '../i18n.js';
import * as outbox from '../outbox.js';
import * as session from '../session.js';
import * as shift from '../shift.js';

export function describe(event) {
  if (!event) return t('sync.sealed_only');
  const p = event.payload || {};
  const v = p.visit_id ? shift.visit(p.visit_id) : null;
  const clientId = p.client_id || (v && v.client_id);
  const client = clientId ? shift.client(clientId) : null;
  const parts = [t(`event.${event.type}`)];
  if (event.type === 'intervention_recorded' && v) {
    const i = (v.interventions || []).find((x) => x.id === p.intervention_id);
    if (i) parts.push(`${i.title}: ${t(`intervention.${p.status}`)}`);
  }
  if (client) parts.push(client.name);
  parts.push(fmtTime(p.at || event.occurred_at));
  return parts.join(' · ');
}

export function reason(entry) {
  const key = `reject.${entry.code}`;
  return has(key) ? t(key) : (entry.message || entry.code);
}

/** Access-log records of one opening of a client's record (consecutive, same client, same state) as one line. */
function groupAccess(rows) {
  const groups = [];
  for (const r of rows) {
    const last = groups[groups.length - 1];
    const clientId = r.event && r.event.payload.client_id;
    if (last && last.clientId === clientId && last.state === r.state && clientId !== undefined) last.rows.push(r);
    else groups.push({ clientId, state: r.state, rows: [r] });
  }
  return groups.map((g) => {
    const first = g.rows[g.rows.length - 1].event; // rows are newest first
    if (!first) return { ...g.rows[0] };
    const client = shift.client(g.clientId);
    const views = [...new Set(g.rows.map((r) => r.event.payload.view))].reverse().map((v) => t(`client.view.${v}`).toLowerCase());
    return { ...g.rows[0], text: [t('event.client_record_opened'), client ? client.name : null, views.join(', '), fmtTime(first.occurred_at)].filter(Boolean).join(' · ') };
  });
}

function recordList(id, rows) {
  return h('ul', { class: 'records', id }, rows.map((r) => h('li', { class: `record ${r.state}`, 'data-state': r.state },
    h('span', { class: `badge ${r.state}` }, t(`sync.state.${r.state}`)),
    h('span', {}, r.text),
    r.state === 'rejected' ? h('span', { class: 'reason' }, `${t('sync.reason')}: ${reason(r.entry)}`) : null)));
}

export function render(ctx) {
  const s = outbox.status();
  const byId = new Map(outbox.journal().map((e) => [e.id, e]));
  const rows = [];
  const inOutbox = new Set();
  for (const entry of outbox.entries()) {
    inOutbox.add(entry.id);
    const event = byId.get(entry.id);
    rows.push({ seq: entry.device_seq, state: entry.state === 'rejected' ? 'rejected' : 'waiting', text: describe(event), entry, event, access: entry.access || (event && event.type === outbox.ACCESS_LOG) });
  }
  for (const e of outbox.journal()) {
    if (!inOutbox.has(e.id) && e.status === 'sent') rows.push({ seq: e.device_seq, state: 'sent', text: describe(e), event: e, access: e.type === outbox.ACCESS_LOG });
  }
  rows.sort((a, b) => b.seq - a.seq);
  const own = rows.filter((r) => !r.access);
  const access = groupAccess(rows.filter((r) => r.access));
  const persisted = document.documentElement.dataset.persisted;
  const button = h('button', {
    type: 'button', class: 'primary big', id: 'sync-now', disabled: s.sending,
    onclick: async () => { button.disabled = true; await outbox.syncNow(); await shift.refresh(); ctx.rerender(); },
  }, s.sending ? t('sync.sending') : t('sync.now'));
  return h('section', {},
    h('h1', {}, t('sync.title')),
    h('div', { class: 'card' },
      h('p', { id: 'sync-pending' }, t('sync.pending', { n: s.pending })),
      s.access ? h('p', { id: 'sync-pending-access', class: 'muted' }, t('sync.pending_access', { n: s.access })) : null,
      s.rejected ? h('p', { class: 'warning', id: 'sync-rejected' }, t('sync.rejected_count', { n: s.rejected })) : null,
      h('p', { id: 'sync-last' }, s.lastSuccessAt ? t('sync.last', { time: fmtDateTime(s.lastSuccessAt) }) : t('sync.never')),
      s.nextRetryAt && s.pending + s.access ? h('p', { id: 'sync-retry', class: 'info' }, t('sync.retry', { time: fmtTime(s.nextRetryAt) })) : null,
      button,
      persisted === 'false' ? h('p', { class: 'warning', id: 'storage-detail' }, t('storage.refused_detail')) : null,
      persisted === 'true' ? h('p', { class: 'muted' }, t('storage.granted')) : null),
    h('h2', {}, t('sync.own')),
    own.length ? recordList('sync-records', own) : h('p', {}, t('sync.no_records')),
    access.length ? [h('h2', {}, t('sync.access_title')), h('p', { class: 'muted' }, t('sync.access_help')),
      recordList('sync-access', access)] : null,
    h('div', { class: 'card' },
      h('h2', {}, t('logout.title')),
      h('p', {}, t('logout.help')),
      h('button', {
        type: 'button', id: 'logout',
        onclick: async () => { if (window.confirm(t('logout.confirm'))) await session.logout(); },
      }, t('logout.button'))));
}
