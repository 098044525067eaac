// Transfer back to the journal system (återföring) after an outage: everything recorded in its window, by
// client and visit, each item ticked "överförd" (who, when); what is left is counted; the list prints.
import { api, el, fmtDateTime, showError, startPage } from './shell.js';
import { t } from './i18n.js';


const $ = (id) => document.getElementById(id);
const clock = (iso) => (iso ? fmtDateTime(iso).slice(-5) : '–');

function content(item) {
  const c = item.content;
  if (item.type === 'visit_time') return `${t('tr.start')} ${clock(c.started_at)} – ${t('tr.end')} ${clock(c.ended_at)}`;
  if (item.type === 'intervention') {
    return [`${c.title}: ${c.status === 'done' ? t('tr.done') : t('tr.notDone')}`, c.reason_label, c.comment]
      .filter(Boolean).join(' – ');
  }
  if (item.type === 'deviation') return `${c.category_label}: ${c.text}`;
  return c.text;
}

async function tick(outageId, keys, undo = false) {
  try {
    await api(`/api/loop/transfer/${outageId}/${undo ? 'unmarks' : 'marks'}`, { method: 'POST', body: { item_keys: keys } });
    await Promise.all([loadOutages(), openList(outageId)]);
  } catch (err) { showError($('error'), err); }
}

function tickCell(outageId, item) {
  if (item.transferred && !item.changed) {
    return el('td', { class: 'transfer-tick' }, el('span', { class: 'pill ok' }, '✓ ', t('tr.by', {
      who: item.transferred.by.display_name, at: fmtDateTime(item.transferred.at) })), ' ',
    el('button', { type: 'button', class: 'secondary', onclick: () => tick(outageId, [item.key], true) }, t('tr.untick')));
  }
  return el('td', { class: 'transfer-tick' }, el('span', { class: 'paper-box', 'aria-hidden': 'true' }),
    item.changed ? el('span', { class: 'pill warn' }, t('tr.changed')) : null, ' ',
    el('button', { type: 'button', onclick: () => tick(outageId, [item.key]) }, t('tr.tick')));
}

async function openList(outageId) {
  try {
    const body = await api(`/api/loop/transfer/${outageId}`);
    const c = body.counts;
    $('tr-list-title').textContent = `${body.outage.title} · ${fmtDateTime(body.outage.started_at)} – ${fmtDateTime(body.outage.ended_at)}`;
    $('tr-counts').replaceChildren(el('span', { class: `message ${c.left ? 'error' : 'ok'}` },
      c.left ? t('tr.counts', c) : t('tr.allDone', c)));
    $('tr-list').replaceChildren(...(body.clients.length ? body.clients.map((group) => {
      const name = group.client ? `${group.client.name} (${group.client.personal_number})` : t('tr.noClient');
      const open = group.items.filter((i) => !i.transferred || i.changed).map((i) => i.key);
      return el('div', { class: 'transfer-client' }, el('h3', {}, name),
        open.length ? el('p', { class: 'no-print' }, el('button', { type: 'button', class: 'secondary',
          onclick: () => tick(outageId, open) }, t('tr.tickAll', { name: group.client ? group.client.name : t('tr.noClient') }))) : null,
        el('div', { class: 'table-wrap', tabindex: '0' }, el('table', {},
          el('thead', {}, el('tr', {}, ['visit', 'type', 'worker', 'content', 'done'].map((k) => el('th', { scope: 'col' }, t(`tr.col.${k}`))))),
          el('tbody', {}, group.items.map((item) => el('tr', { class: item.transferred && !item.changed ? 'transfer-done' : null },
            el('td', {}, item.visit ? fmtDateTime(item.visit.planned_start) : fmtDateTime(item.at)),
            el('td', {}, item.type_label), el('td', {}, item.worker.display_name || '–'), el('td', {}, content(item)),
            tickCell(outageId, item)))))));
    }) : [el('p', {}, t('tr.none'))]));
    $('tr-list-card').hidden = false;
  } catch (err) { showError($('error'), err); }
}

async function loadOutages() {
  try {
    const body = await api('/api/loop/transfer');
    if (!body.outages.length) { $('tr-outages').replaceChildren(el('p', {}, t('tr.noOutages'))); return body; }
    $('tr-outages').replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, ['outage', 'window', 'left', 'state'].map((k) => el('th', { scope: 'col' }, t(`tr.col.${k}`))),
        el('th', { scope: 'col' }, t('tr.action')))),
      el('tbody', {}, body.outages.map((o) => el('tr', { class: o.closed ? null : 'warn' },
        el('td', {}, o.outage.title), el('td', {}, `${fmtDateTime(o.outage.started_at)} – ${o.outage.ongoing ? t('tr.ongoing') : fmtDateTime(o.outage.ended_at)}`),
        el('td', { class: 'num' }, `${o.left} / ${o.total}`),
        el('td', {}, el('span', { class: `pill ${o.closed ? 'ok' : 'warn'}` }, o.closed ? t('tr.closed') : t('tr.open'))),
        el('td', {}, el('button', { type: 'button', class: 'secondary', onclick: () => openList(o.outage.id) }, t('tr.show'))))))));
    return body;
  } catch (err) { showError($('error'), err); return null; }
}

await startPage({ page: 'transfer.html' });
$('tr-print').addEventListener('click', () => window.print());
const summary = await loadOutages();
const wanted = Number(new URLSearchParams(location.search).get('outage')) || (summary && summary.outages.find((o) => !o.closed)?.outage.id);
if (wanted) await openList(wanted);
document.body.dataset.loaded = 'true';
