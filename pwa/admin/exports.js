// Registrations per unit and period as CSV (for billing), downloaded with the Bearer token.
import { download, el, showError, startPage } from './shell.js';
import { addMessages, t } from './i18n.js';

addMessages({
  sv: {
    'exp.title': 'Export av registreringar',
    'exp.lead': 'Registreringar för enheten och perioden som CSV, till exempel för fakturering. Varje rad visar källan (mobil, efterregistrering av medarbetare eller administratör) och flaggor för klockavvikelse, konflikt och karantän.',
    'exp.period': 'Period', 'exp.from': 'Från och med', 'exp.to': 'Till och med', 'exp.download': 'Ladda ner CSV',
    'exp.format': 'Filen är UTF-8 med semikolon som avgränsare och tider i svensk tid; den öppnas direkt i Excel och LibreOffice.',
    'exp.done': 'Filen är nedladdad.',
  },
  en: {
    'exp.title': 'Export registrations',
    'exp.lead': 'Registrations of the unit for a period as CSV, e.g. for billing. Each row shows its source (phone, post-registered by the worker or by an administrator) and flags for clock skew, conflict and quarantine.',
    'exp.period': 'Period', 'exp.from': 'From', 'exp.to': 'To (inclusive)', 'exp.download': 'Download CSV',
    'exp.format': 'UTF-8, semicolon-separated, Swedish local times; opens directly in Excel and LibreOffice.',
    'exp.done': 'The file has been downloaded.',
  },
});

await startPage({ page: 'exports.html' });
const form = document.getElementById('export-form');
const now = new Date();
const iso = (d) => d.toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
form.from.value = iso(new Date(now.getFullYear(), now.getMonth(), 1));
form.to.value = iso(now);
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const status = document.getElementById('status');
  try {
    await download('/api/dashboard/registrations.csv', { from: form.from.value, to: form.to.value }, 'registreringar.csv');
    status.replaceChildren(el('span', { class: 'message ok' }, t('exp.done')));
  } catch (err) {
    showError(status, err);
  }
});
document.body.dataset.loaded = 'true';
