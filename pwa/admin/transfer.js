// Transfer back to the journal system (återföring) after an outage: everything recorded in its window, by
// client and visit, each item ticked "överförd" (who, when); what is left is counted; the list prints.
import { api, el, fmtDateTime, showError, startPage } from './shell.js';
import { addMessages, t } from './i18n.js';

addMessages({
  sv: {
    'tr.title': 'Återföring till journalsystemet', 'tr.outages': 'Driftstopp', 'tr.print': 'Skriv ut',
    'tr.lead': 'Allt som registrerades i appen under driftstoppet och ska föras in i verksamhetssystemet: anteckningar, avvikelser, besökstider och insatser, per brukare och besök. Bocka av varje post när den är överförd – så missas inget.',
    'tr.col.outage': 'Driftstopp', 'tr.col.window': 'Period', 'tr.col.left': 'Kvar', 'tr.col.state': 'Läge',
    'tr.closed': 'Klart', 'tr.open': 'Kvar att föra över', 'tr.ongoing': 'pågår', 'tr.show': 'Visa lista', 'tr.action': 'Åtgärd',
    'tr.noOutages': 'Inga driftstopp de senaste veckorna.', 'tr.none': 'Inget registrerades under driftstoppet.',
    'tr.counts': '{left} av {total} poster kvar att föra över.', 'tr.allDone': 'Alla {total} poster är överförda.',
    'tr.changed': 'ändrad efter överföring', 'tr.noClient': 'Utan brukare',
    'tr.col.visit': 'Besök', 'tr.col.type': 'Typ', 'tr.col.worker': 'Medarbetare', 'tr.col.content': 'Innehåll',
    'tr.col.done': 'Överförd', 'tr.tick': 'Markera överförd', 'tr.untick': 'Ångra', 'tr.tickAll': 'Markera alla för {name}',
    'tr.by': '{who}, {at}', 'tr.done': 'utförd', 'tr.notDone': 'inte utförd', 'tr.start': 'Start', 'tr.end': 'slut',
  },
  en: {
    'tr.title': 'Transfer back to the journal system', 'tr.outages': 'Outages', 'tr.print': 'Print',
    'tr.lead': 'Everything recorded in the app during the outage that must be entered into the system of record: notes, deviations, visit times and interventions, by client and visit. Tick each item when it has been transferred – so nothing is missed.',
    'tr.col.outage': 'Outage', 'tr.col.window': 'Period', 'tr.col.left': 'Left', 'tr.col.state': 'State',
    'tr.closed': 'Done', 'tr.open': 'Left to transfer', 'tr.ongoing': 'ongoing', 'tr.show': 'Show list', 'tr.action': 'Action',
    'tr.noOutages': 'No outages in recent weeks.', 'tr.none': 'Nothing was recorded during the outage.',
    'tr.counts': '{left} of {total} items left to transfer.', 'tr.allDone': 'All {total} items are transferred.',
    'tr.changed': 'changed after transfer', 'tr.noClient': 'No client',
    'tr.col.visit': 'Visit', 'tr.col.type': 'Type', 'tr.col.worker': 'Worker', 'tr.col.content': 'Content',
    'tr.col.done': 'Transferred', 'tr.tick': 'Mark transferred', 'tr.untick': 'Undo', 'tr.tickAll': 'Mark all for {name}',
    'tr.by': '{who}, {at}', 'tr.done': 'done', 'tr.notDone': 'not done', 'tr.start': 'Start', 'tr.end': 'end',
  },
});

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
