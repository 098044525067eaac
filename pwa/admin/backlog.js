// The unsynced backlog: what waits on the unit's phones, silent phones, gaps, and the trend over the last days.
import { api, el, fmtAge, fmtDateTime, fmtNumber, insertSvg, showError, startPage } from './shell.js';
import { t } from './i18n.js';

function figure(value, label, tone) {
  return el('li', { class: `figure ${tone}` }, el('span', { class: 'value' }, value), el('span', { class: 'label' }, label));
}

function table(caption, headers, rows) {
  return el('table', {}, el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, headers.map(([text, cls]) => el('th', { scope: 'col', class: cls }, text)))),
    el('tbody', {}, rows));
}

function renderTotals(body) {
  const s = body.totals;
  const hours = Math.round(body.settings.silent_after_minutes / 60);
  const gaps = body.gaps.available ? body.gaps.open : null;
  document.getElementById('totals').replaceChildren(
    figure(fmtNumber(s.pending_records), t('backlog.pending'), s.pending_records ? 'warn' : 'ok'),
    figure(fmtNumber(s.devices_with_pending), t('backlog.devicesWithPending'), s.devices_with_pending ? 'warn' : 'ok'),
    figure(s.oldest_pending_seconds === null ? '–' : fmtAge(s.oldest_pending_seconds), t('backlog.oldest'),
      s.oldest_pending_seconds > body.settings.silent_after_minutes * 60 ? 'alert' : s.oldest_pending_seconds ? 'warn' : 'ok'),
    figure(fmtNumber(s.silent_devices), t('backlog.silent', { h: hours }), s.silent_devices ? 'alert' : 'ok'),
    figure(fmtNumber(s.quarantined_open), t('backlog.quarantine'), s.quarantined_open ? 'warn' : 'ok'),
    figure(gaps === null ? '–' : fmtNumber(gaps), t('backlog.gapsOpen'), gaps ? 'warn' : 'ok'));
}

function renderGaps(body) {
  const box = document.getElementById('gaps');
  const g = body.gaps;
  if (!g.available) return box.replaceChildren(el('p', {}, t('backlog.gapsUnavailable')));
  const parts = [];
  if (!g.open && !g.open_conflicts) parts.push(el('p', {}, t('backlog.gapsNone')));
  if (g.overdue_self) parts.push(el('p', { class: 'message error' }, t('backlog.overdue', { n: g.overdue_self })));
  if (g.open_conflicts) parts.push(el('p', {}, t('backlog.conflicts', { n: g.open_conflicts })));
  const chart = el('div');
  parts.push(chart);
  box.replaceChildren(...parts);
  insertSvg(chart, body.charts.gaps);
}

/** The phone's name, and renaming it in place (the app names a phone by model, browser and day). */
function deviceCell(d) {
  const cell = el('td', {});
  const show = (name) => cell.replaceChildren(el('span', {}, name || d.device_id), ' ', el('button', {
    type: 'button', class: 'secondary small', 'aria-label': t('backlog.renameLabel', { name: name || d.device_id }),
    onclick: () => edit(name),
  }, t('backlog.rename')));
  const edit = (name) => {
    const id = `name-${d.device_id}`;
    const input = el('input', { id, type: 'text', value: name || '', maxlength: 120, required: true });
    const error = el('div');
    cell.replaceChildren(el('form', {
      class: 'rename',
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const answer = await api(`/api/devices/${encodeURIComponent(d.device_id)}/name`, { method: 'PUT', body: { name: input.value } });
          show(answer.name);
        } catch (err) {
          showError(error, err);
        }
      },
    }, el('label', { for: id, class: 'visually-hidden' }, t('backlog.newName')), input,
    el('button', { type: 'submit' }, t('backlog.save')),
    el('button', { type: 'button', class: 'secondary', onclick: () => show(name) }, t('backlog.cancel')), error));
    input.focus();
  };
  show(d.device_name);
  return cell;
}

function renderDevices(body) {
  const box = document.getElementById('devices');
  if (!body.devices.length) return box.replaceChildren(el('p', {}, t('backlog.noDevices')));
  const rows = body.devices.map((d) => {
    const state = d.silent ? ['alert', t('state.silent')] : d.pending ? ['warn', t('state.pending')] : ['ok', t('state.ok')];
    return el('tr', { class: d.silent ? 'alert' : d.pending ? 'warn' : null },
      el('th', { scope: 'row' }, d.worker.display_name),
      deviceCell(d),
      el('td', { class: 'num' }, fmtNumber(d.pending)),
      el('td', {}, d.oldest_pending_seconds === null ? '–' : fmtAge(d.oldest_pending_seconds)),
      el('td', {}, d.last_contact_at ? `${fmtDateTime(d.last_contact_at)} (${fmtAge(d.silent_seconds)})` : t('never')),
      el('td', {}, d.app_version || '–'),
      el('td', {}, el('span', { class: `pill ${state[0]}` }, state[1])));
  });
  const parts = [table(t('backlog.devicesTitle'), [[t('col.worker')], [t('col.device')], [t('col.pending'), 'num'],
    [t('col.oldest')], [t('col.lastContact')], [t('col.version')], [t('col.status')]], rows)];
  if (body.totals.devices > body.devices.length) {
    parts.unshift(el('p', {}, t('backlog.moreDevices', { shown: body.devices.length, total: body.totals.devices })));
  }
  box.replaceChildren(...parts);
}

function renderTrends(body) {
  insertSvg(document.getElementById('chart-backlog-box'), body.charts.backlog);
  insertSvg(document.getElementById('chart-delay-box'), body.charts.delay);
  const rows = body.days.map((d) => el('tr', {},
    el('th', { scope: 'row' }, d.day), el('td', { class: 'num' }, fmtNumber(d.pending_records)),
    el('td', { class: 'num' }, fmtNumber(d.synced_records)),
    el('td', { class: 'num' }, d.avg_sync_delay_seconds === null ? '–' : fmtAge(d.avg_sync_delay_seconds))));
  document.getElementById('trend-table').replaceChildren(table(t('backlog.trendBacklog'),
    [[t('col.day')], [t('col.pending'), 'num'], [t('col.synced'), 'num'], [t('col.avgDelay'), 'num']], rows));
}

async function load() {
  const error = document.getElementById('error');
  try {
    const [backlog, trends] = await Promise.all([api('/api/dashboard/backlog'), api('/api/dashboard/trends')]);
    error.replaceChildren();
    document.getElementById('as-of').textContent = t('asOf', { time: fmtDateTime(backlog.as_of) });
    renderTotals(backlog);
    renderGaps(backlog);
    renderDevices(backlog);
    renderTrends(trends);
    document.body.dataset.loaded = 'true';
  } catch (err) {
    showError(error, err);
  }
}

await startPage({ page: 'index.html' });
await load();
setInterval(load, 120000); // a wall display stays current
