// Import for the administrator's unit: upload files → see the diff (a dry run) → apply the same files.
// Also the unit's integration tokens (create, shown once; revoke). The server checks everything; this page shows.
import { ApiError, api, el, logout, session, showError, startPage } from './shell.js';
import { t } from './i18n.js';


const ACTIONS = ['created', 'changed', 'unchanged', 'cancelled'];
const TONE = { created: 'ok', changed: 'warn', cancelled: 'alert' };

await startPage({ page: 'import.html', roles: ['admin'] });
const form = document.getElementById('import-form');
const applyButton = document.getElementById('apply');
const status = document.getElementById('status');
const result = document.getElementById('result');

// The upload is multipart (files), so it is sent here rather than through the shell's JSON api(); by
// XMLHttpRequest, whose upload events let a big file show how far it has come. The server answers NDJSON
// (Accept): a line per step of the import as it gets there, shown here, then {status, body} — the answer.
const NDJSON = 'application/x-ndjson';

function stepText({ step, count, applying }) {
  if (step === 'visits') return t(applying ? 'imp.step.visitsSaved' : 'imp.step.visits', { n: count.toLocaleString('sv-SE') });
  return t(`imp.step.${step}`);
}

function upload(dryRun) {
  const body = new FormData();
  for (const file of form.files.files) body.append('files', file, file.name);
  if (dryRun) body.append('dry_run', '1');
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let seen = 0; // how much of the streamed answer has been shown
    let last = null; // the answer's closing line: {status, body}
    const readLines = () => {
      if (!(xhr.getResponseHeader('Content-Type') || '').startsWith(NDJSON)) return;
      const text = xhr.responseText;
      const end = text.lastIndexOf('\n') + 1;
      for (const line of text.slice(seen, end).split('\n').filter(Boolean)) {
        const item = JSON.parse(line);
        if (item.progress) status.replaceChildren(el('span', { 'data-step': item.progress.step }, stepText(item.progress)));
        else last = item;
      }
      seen = end;
    };
    xhr.open('POST', '/api/admin/import');
    xhr.setRequestHeader('Authorization', `Bearer ${session().token}`);
    xhr.setRequestHeader('Accept', NDJSON);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 256 * 1024) {
        status.replaceChildren(el('span', {}, t('imp.sending', { p: Math.round((100 * event.loaded) / event.total) })));
      }
    };
    xhr.upload.onload = () => status.replaceChildren(el('span', {}, t(dryRun ? 'imp.checking' : 'imp.applying')));
    xhr.onprogress = readLines;
    xhr.onerror = () => reject(new ApiError(0, { message: t('error.network') }));
    xhr.onload = () => {
      if (xhr.status === 401) logout();
      let code = xhr.status;
      let payload = null;
      try {
        readLines();
        if (last) ({ status: code, body: payload } = last);
        else payload = JSON.parse(xhr.responseText);
      } catch { /* not JSON, or the stream broke off: the generic message */ }
      if (code >= 200 && code < 300 && payload) resolve(payload);
      else reject(Object.assign(new ApiError(code >= 200 && code < 300 ? 500 : code, payload), { body: payload }));
    };
    xhr.send(body);
  });
}

const show = (value) => (value === null || value === undefined || value === '' ? '–'
  : typeof value === 'object' ? JSON.stringify(value) : String(value));

function changeText(item) {
  return Object.entries(item.changes).map(([field, c]) => (item.action === 'created'
    ? `${field}: ${show(c.after)}` : `${field}: ${show(c.before)} → ${show(c.after)}`)).join('; ');
}

function renderDiff(diff) {
  const kinds = Object.keys(diff);
  const counts = el('table', {},
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('imp.kind')),
      ACTIONS.map((a) => el('th', { scope: 'col', class: 'num' }, t(`imp.${a}`))))),
    el('tbody', {}, kinds.map((kind) => el('tr', { 'data-kind': kind }, el('th', { scope: 'row' }, t(`kind.${kind}`)),
      ACTIONS.map((a) => el('td', { class: 'num', 'data-action': a }, String(diff[kind][a])))))));
  const details = kinds.filter((kind) => diff[kind].items.length).map((kind) => {
    const d = diff[kind];
    const listed = d.items.length;
    const total = d.created + d.changed + d.cancelled;
    return el('details', { class: 'figures-table', open: total <= 50 },
      el('summary', {}, `${t(`kind.${kind}`)} (${total})`),
      el('div', { class: 'table-wrap' }, el('table', {},
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('imp.id')), el('th', { scope: 'col' }, t('imp.what')),
          el('th', { scope: 'col' }, t('imp.changes')))),
        el('tbody', {}, d.items.map((item) => el('tr', {},
          el('td', {}, item.key), el('td', {}, el('span', { class: `pill ${TONE[item.action]}` }, t(`action.${item.action}`))),
          el('td', {}, changeText(item))))))),
      total > listed ? el('p', { class: 'hint' }, t('imp.more', { n: total - listed })) : null);
  });
  result.replaceChildren(el('div', { class: 'table-wrap' }, counts), ...details);
}

function renderProblems(problems) {
  result.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { id: 'problems' },
    el('thead', {}, el('tr', {}, ['file', 'line', 'column', 'message'].map((c) => el('th', { scope: 'col' }, t(`imp.${c}`))))),
    el('tbody', {}, problems.map((p) => el('tr', {}, el('td', {}, p.file), el('td', { class: 'num' }, p.line ? String(p.line) : '–'),
      el('td', {}, p.column || '–'), el('td', {}, p.message)))))));
}

async function run(dryRun) {
  applyButton.disabled = true;
  status.replaceChildren(el('span', {}, t(dryRun ? 'imp.checking' : 'imp.applying')));
  try {
    const answer = await upload(dryRun);
    renderDiff(answer.diff);
    status.replaceChildren(el('span', { class: 'message ok' }, t(dryRun ? 'imp.previewed' : 'imp.applied')));
    applyButton.disabled = !dryRun;
    if (!dryRun) await loadAudit();
  } catch (err) {
    const problems = err.body && err.body.problems;
    if (problems) {
      renderProblems(problems);
      status.replaceChildren(el('p', { class: 'message error', role: 'alert' }, t('imp.problems', { n: problems.length })));
    } else {
      showError(status, err);
    }
  }
}

form.addEventListener('submit', (event) => { event.preventDefault(); run(true); });
applyButton.addEventListener('click', () => run(false));
form.files.addEventListener('change', () => { applyButton.disabled = true; }); // preview what you apply

// -- cancelled visits that someone recorded something for -------------------------------------------
const fmt = (iso) => new Date(iso).toLocaleString('sv-SE', { timeZone: 'Europe/Stockholm' });

async function loadCancelled() {
  const box = document.getElementById('cancelled');
  try {
    const { visits } = await api('/api/admin/cancelled-visits');
    box.replaceChildren(visits.length ? el('div', { class: 'table-wrap' }, el('table', { id: 'cancelled-visits' },
      el('thead', {}, el('tr', {}, ['visit', 'client', 'records'].map((c) => el('th', { scope: 'col' }, t(`imp.${c}`))))),
      el('tbody', {}, visits.map((v) => el('tr', {},
        el('td', {}, `${v.external_id || v.id}: ${fmt(v.planned_start)}`), el('td', {}, v.client.name),
        el('td', {}, el('ul', {}, v.records.map((r) => el('li', {}, `${fmt(r.occurred_at)} ${r.type} – ${r.worker}`)))))))))
      : el('p', { class: 'hint' }, t('imp.noCancelled')));
  } catch (err) {
    showError(box, err);
  }
}

// -- the audit trail of the unit ---------------------------------------------------------------------
function auditChanges(e) {
  const fields = Object.keys(e.after || {})
    .filter((k) => !e.before || JSON.stringify(e.before[k]) !== JSON.stringify(e.after[k]));
  const changes = Object.fromEntries(fields.map((k) => [k, { before: e.before && e.before[k], after: e.after[k] }]));
  return changeText({ action: e.action, changes });
}

function auditRow(e) {
  return el('tr', {},
    el('td', {}, fmt(e.at)), el('td', {}, e.actor),
    el('td', {}, `${t(`entity.${e.entity}`)} ${e.external_id || ''} – ${t(`action.${e.action}`)}`),
    el('td', {}, auditChanges(e)));
}

async function loadAudit() {
  const box = document.getElementById('audit');
  try {
    const { entries } = await api('/api/admin/audit-trail');
    const head = el('thead', {}, el('tr', {}, ['when', 'who', 'what', 'changes'].map((c) => el('th', { scope: 'col' }, t(`imp.${c}`)))));
    box.replaceChildren(entries.length
      ? el('div', { class: 'table-wrap' }, el('table', { id: 'audit-trail' }, head, el('tbody', {}, entries.map(auditRow))))
      : el('p', { class: 'hint' }, t('imp.noAudit')));
  } catch (err) {
    showError(box, err);
  }
}

// -- integration tokens ---------------------------------------------------------------------------
const tokenForm = document.getElementById('token-form');
const tokensBox = document.getElementById('tokens');
const secretBox = document.getElementById('token-secret');

async function loadTokens() {
  try {
    const { tokens } = await api('/api/admin/integration-tokens');
    tokensBox.replaceChildren(tokens.length ? el('div', { class: 'table-wrap' }, el('table', {},
      el('thead', {}, el('tr', {}, ['name', 'state', 'lastUsed'].map((c) => el('th', { scope: 'col' }, t(`imp.${c}`))),
        el('th', { scope: 'col' }, ''))),
      el('tbody', {}, tokens.map((tok) => el('tr', {},
        el('td', {}, `${tok.name} (${tok.hint}…)`),
        el('td', {}, el('span', { class: `pill ${tok.revoked_at ? 'neutral' : 'ok'}` }, t(tok.revoked_at ? 'imp.revoked' : 'imp.active'))),
        el('td', {}, tok.last_used_at ? new Date(tok.last_used_at).toLocaleString('sv-SE', { timeZone: 'Europe/Stockholm' }) : '–'),
        el('td', {}, tok.revoked_at ? '' : el('button', { type: 'button', class: 'secondary', onclick: () => revoke(tok) },
          t('imp.revoke')))))))) : el('p', { class: 'hint' }, t('imp.noTokens')));
  } catch (err) {
    showError(tokensBox, err);
  }
}

async function revoke(tok) {
  if (!window.confirm(t('imp.confirmRevoke', { name: tok.name }))) return;
  try {
    await api(`/api/admin/integration-tokens/${tok.id}/revoke`, { method: 'POST' });
  } catch (err) {
    showError(secretBox, err);
  }
  await loadTokens();
}

tokenForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const made = await api('/api/admin/integration-tokens', { method: 'POST', body: { name: document.getElementById('token-name').value } });
    secretBox.replaceChildren(el('p', { class: 'message ok' }, t('imp.tokenShown'), ' ', el('code', { id: 'secret' }, made.token)));
    tokenForm.reset();
  } catch (err) {
    showError(secretBox, err);
  }
  await loadTokens();
});

await Promise.all([loadTokens(), loadCancelled(), loadAudit()]);
document.body.dataset.loaded = 'true';
