// Import for the administrator's unit: upload files → see the diff (a dry run) → apply the same files.
// Also the unit's integration tokens (create, shown once; revoke). The server checks everything; this page shows.
import { ApiError, api, el, logout, session, showError, startPage } from './shell.js';
import { addMessages, t } from './i18n.js';

addMessages({
  sv: {
    'imp.title': 'Import', 'imp.files': 'Filer', 'imp.choose': 'Välj filer (.csv eller .xlsx)',
    'imp.lead': 'Läs in personal, brukare, genomförandeplaner, läkemedelslistor och besök för din enhet från CSV- eller Excelfiler. Du ser först exakt vad som ändras; inget sparas förrän du verkställer, och om något är fel sparas ingenting.',
    'imp.names': 'Filnamnet säger vad raderna är: staff.csv, clients.csv, care_plans.csv, medications.csv, visits.csv (i Excel: ett blad per slag med samma namn).',
    'imp.preview': 'Förhandsgranska', 'imp.apply': 'Verkställ', 'imp.result': 'Ändringar',
    'imp.nothingYet': 'Välj filer och förhandsgranska.', 'imp.checking': 'Kontrollerar filerna …',
    'imp.applying': 'Sparar …', 'imp.sending': 'Skickar filerna: {p} %', 'imp.previewed': 'Förhandsgranskning: inget är sparat än. Verkställ för att spara precis detta.',
    'imp.applied': 'Importen är sparad.', 'imp.problems': '{n} fel – inget har sparats. Rätta filerna och försök igen.',
    'imp.kind': 'Slag', 'imp.created': 'Nya', 'imp.changed': 'Ändrade', 'imp.unchanged': 'Oförändrade',
    'imp.cancelled': 'Inställda', 'imp.id': 'Id', 'imp.what': 'Vad', 'imp.changes': 'Ändring',
    'imp.file': 'Fil', 'imp.line': 'Rad', 'imp.column': 'Kolumn', 'imp.message': 'Fel', 'imp.more': '… och {n} till',
    'kind.units': 'Enheter', 'kind.staff': 'Personal', 'kind.clients': 'Brukare', 'kind.care_plans': 'Insatser',
    'kind.medications': 'Läkemedelslistor', 'kind.visits': 'Besök',
    'action.created': 'ny', 'action.changed': 'ändrad', 'action.cancelled': 'inställd',
    'imp.tokens': 'Integrationsnycklar', 'imp.tokenName': 'Namn (t.ex. planeringssystemet)',
    'imp.tokensLead': 'Ett planeringssystem skickar samma rader som JSON till POST /api/integration/import med en integrationsnyckel för din enhet. Nyckeln visas bara en gång; återkalla den om den kommit bort.',
    'imp.tokenCreate': 'Skapa nyckel', 'imp.tokenShown': 'Kopiera nyckeln nu – den visas inte igen:',
    'imp.revoke': 'Återkalla', 'imp.revoked': 'återkallad', 'imp.active': 'aktiv', 'imp.noTokens': 'Inga nycklar.',
    'imp.cancelledTitle': 'Inställda besök med registreringar',
    'imp.cancelledLead': 'Besök som ställts in men som personal ändå registrerat något för (t.ex. offline innan ändringen nådde mobilen). Registreringarna finns kvar; bedöm dem här.',
    'imp.noCancelled': 'Inga.', 'imp.visit': 'Besök', 'imp.client': 'Brukare', 'imp.records': 'Registreringar',
    'imp.auditTitle': 'Senaste ändringar', 'imp.auditLead': 'Vem som ändrade vad och när, med värdena före och efter (importer och integrationsnycklar).',
    'imp.when': 'När', 'imp.who': 'Vem', 'imp.noAudit': 'Inga ändringar än.', 'action.revoked': 'återkallad',
    'entity.unit': 'enhet', 'entity.staff': 'personal', 'entity.client': 'brukare', 'entity.care_plan': 'insats',
    'entity.medications': 'läkemedelslista', 'entity.visit': 'besök', 'entity.token': 'integrationsnyckel',
    'imp.lastUsed': 'Senast använd', 'imp.state': 'Status', 'imp.name': 'Namn', 'imp.confirmRevoke': 'Återkalla nyckeln {name}? Den slutar fungera direkt.',
  },
  en: {
    'imp.title': 'Import', 'imp.files': 'Files', 'imp.choose': 'Choose files (.csv or .xlsx)',
    'imp.lead': 'Load staff, clients, care plans, medication lists and visits of your unit from CSV or Excel files. You first see exactly what changes; nothing is saved until you apply, and if anything is wrong nothing is saved.',
    'imp.names': 'The file name says what the rows are: staff.csv, clients.csv, care_plans.csv, medications.csv, visits.csv (in Excel: one sheet per kind with that name).',
    'imp.preview': 'Preview', 'imp.apply': 'Apply', 'imp.result': 'Changes',
    'imp.nothingYet': 'Choose files and preview.', 'imp.checking': 'Checking the files …',
    'imp.applying': 'Saving …', 'imp.sending': 'Sending the files: {p} %', 'imp.previewed': 'Preview: nothing is saved yet. Apply to save exactly this.',
    'imp.applied': 'The import is saved.', 'imp.problems': '{n} errors – nothing was saved. Correct the files and try again.',
    'imp.kind': 'Kind', 'imp.created': 'New', 'imp.changed': 'Changed', 'imp.unchanged': 'Unchanged',
    'imp.cancelled': 'Cancelled', 'imp.id': 'Id', 'imp.what': 'What', 'imp.changes': 'Change',
    'imp.file': 'File', 'imp.line': 'Line', 'imp.column': 'Column', 'imp.message': 'Error', 'imp.more': '… and {n} more',
    'kind.units': 'Units', 'kind.staff': 'Staff', 'kind.clients': 'Clients', 'kind.care_plans': 'Interventions',
    'kind.medications': 'Medication lists', 'kind.visits': 'Visits',
    'action.created': 'new', 'action.changed': 'changed', 'action.cancelled': 'cancelled',
    'imp.tokens': 'Integration tokens', 'imp.tokenName': 'Name (e.g. the planning system)',
    'imp.tokensLead': 'A planning system sends the same rows as JSON to POST /api/integration/import with an integration token for your unit. The token is shown once; revoke it if it is lost.',
    'imp.tokenCreate': 'Create token', 'imp.tokenShown': 'Copy the token now – it is not shown again:',
    'imp.revoke': 'Revoke', 'imp.revoked': 'revoked', 'imp.active': 'active', 'imp.noTokens': 'No tokens.',
    'imp.cancelledTitle': 'Cancelled visits with records',
    'imp.cancelledLead': 'Visits that were cancelled but that staff still recorded something for (e.g. offline before the change reached the phone). The records are kept; review them here.',
    'imp.noCancelled': 'None.', 'imp.visit': 'Visit', 'imp.client': 'Client', 'imp.records': 'Records',
    'imp.auditTitle': 'Recent changes', 'imp.auditLead': 'Who changed what and when, with the values before and after (imports and integration tokens).',
    'imp.when': 'When', 'imp.who': 'Who', 'imp.noAudit': 'No changes yet.', 'action.revoked': 'revoked',
    'entity.unit': 'unit', 'entity.staff': 'staff', 'entity.client': 'client', 'entity.care_plan': 'intervention',
    'entity.medications': 'medication list', 'entity.visit': 'visit', 'entity.token': 'integration token',
    'imp.lastUsed': 'Last used', 'imp.state': 'Status', 'imp.name': 'Name', 'imp.confirmRevoke': 'Revoke the token {name}? It stops working at once.',
  },
});

const ACTIONS = ['created', 'changed', 'unchanged', 'cancelled'];
const TONE = { created: 'ok', changed: 'warn', cancelled: 'alert' };

await startPage({ page: 'import.html', roles: ['admin'] });
const form = document.getElementById('import-form');
const applyButton = document.getElementById('apply');
const status = document.getElementById('status');
const result = document.getElementById('result');

// The upload is multipart (files), so it is sent here rather than through the shell's JSON api(); by
// XMLHttpRequest, whose upload events let a big file show how far it has come.
function upload(dryRun) {
  const body = new FormData();
  for (const file of form.files.files) body.append('files', file, file.name);
  if (dryRun) body.append('dry_run', '1');
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/admin/import');
    xhr.setRequestHeader('Authorization', `Bearer ${session().token}`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 256 * 1024) {
        status.replaceChildren(el('span', {}, t('imp.sending', { p: Math.round((100 * event.loaded) / event.total) })));
      }
    };
    xhr.upload.onload = () => status.replaceChildren(el('span', {}, t(dryRun ? 'imp.checking' : 'imp.applying')));
    xhr.onerror = () => reject(new ApiError(0, { message: t('error.network') }));
    xhr.onload = () => {
      if (xhr.status === 401) logout();
      let payload = null;
      try { payload = JSON.parse(xhr.responseText); } catch { /* not JSON: the generic message */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(payload);
      else reject(Object.assign(new ApiError(xhr.status, payload), { body: payload }));
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
