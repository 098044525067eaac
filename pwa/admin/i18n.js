// Swedish first, English second, for the manager and administrator pages.
// Each page module adds its own strings with addMessages(); static HTML uses data-i18n="key".
const LANG_KEY = 'hemvard-admin-lang';
const catalogs = { sv: {}, en: {} };

export function lang() {
  const stored = localStorage.getItem(LANG_KEY);
  return stored === 'en' ? 'en' : 'sv';
}

export function setLang(value) {
  localStorage.setItem(LANG_KEY, value === 'en' ? 'en' : 'sv');
}

export function addMessages(messages) {
  for (const code of Object.keys(catalogs)) Object.assign(catalogs[code], messages[code] || {});
}

// t('backlog.devices', {n: 3}) → text with {n} filled in; falls back to Swedish, then to the key.
export function t(key, values = {}) {
  const text = catalogs[lang()][key] ?? catalogs.sv[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

export function translatePage(root = document) {
  document.documentElement.lang = lang();
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  }
}

addMessages({
  sv: {
    'app.name': 'Hemvård Offline – ledning',
    'skip': 'Hoppa till innehållet',
    'nav.label': 'Huvudmeny',
    'nav.backlog': 'Osynkat',
    'nav.readiness': 'Beredskap',
    'nav.accessLog': 'Loggranskning',
    'nav.exports': 'Export',
    'nav.outages': 'Driftstopp',
    'nav.backfill': 'Efterregistrering',
    'nav.push': 'Notiser',
    'nav.import': 'Import',
    'nav.deviations': 'Avvikelser',
    'nav.transfer': 'Återföring',
    'nav.approval': 'Attestering',
    'nav.logout': 'Logga ut',
    'nav.lang': 'English',
    'role.manager': 'enhetschef',
    'role.admin': 'administratör',
    'login.title': 'Logga in',
    'login.lead': 'För enhetschefer och administratörer.',
    'login.username': 'Användarnamn',
    'login.password': 'Lösenord',
    'login.submit': 'Logga in',
    'login.notAllowed': 'Sidorna är för enhetschefer och administratörer. Logga in i appen som medarbetare.',
    'login.expired': 'Du har loggats ut. Logga in igen.',
    'error.network': 'Servern svarar inte. Försök igen om en stund.',
    'error.generic': 'Något gick fel.',
    'loading': 'Hämtar …',
    'asOf': 'Uppdaterad {time}',
    'refresh': 'Uppdatera',
    'none': 'Inga',
    'never': 'aldrig',
    'minutes.short': '{n} min',
    'hours.short': '{h} h {m} min',
    'days.short': '{d} d {h} h',
  },
  en: {
    'app.name': 'Hemvård Offline – management',
    'skip': 'Skip to content',
    'nav.label': 'Main menu',
    'nav.backlog': 'Unsynced',
    'nav.readiness': 'Readiness',
    'nav.accessLog': 'Access log review',
    'nav.exports': 'Exports',
    'nav.outages': 'Outages',
    'nav.backfill': 'Backfill',
    'nav.push': 'Notifications',
    'nav.import': 'Import',
    'nav.deviations': 'Deviations',
    'nav.transfer': 'Transfer back',
    'nav.approval': 'Approval',
    'nav.logout': 'Log out',
    'nav.lang': 'Svenska',
    'role.manager': 'unit manager',
    'role.admin': 'administrator',
    'login.title': 'Log in',
    'login.lead': 'For unit managers and administrators.',
    'login.username': 'Username',
    'login.password': 'Password',
    'login.submit': 'Log in',
    'login.notAllowed': 'These pages are for unit managers and administrators. Workers use the app.',
    'login.expired': 'You have been logged out. Please log in again.',
    'error.network': 'The server does not answer. Try again in a moment.',
    'error.generic': 'Something went wrong.',
    'loading': 'Loading …',
    'asOf': 'Updated {time}',
    'refresh': 'Refresh',
    'none': 'None',
    'never': 'never',
    'minutes.short': '{n} min',
    'hours.short': '{h} h {m} min',
    'days.short': '{d} d {h} h',
  },
});
