// Registrations per unit and period as CSV (for billing), downloaded with the Bearer token.
import { download, el, showError, startPage } from './shell.js';
import { t } from './i18n.js';

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
