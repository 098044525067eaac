// Swedish first, English second, for the manager and administrator pages. The texts live in
// /i18n/admin.sv.json and admin.en.json, like the worker app's; static HTML uses data-i18n="key".
const LANG_KEY = 'hemvard-admin-lang';
const catalogs = { sv: {}, en: {} };

export function lang() {
  const stored = localStorage.getItem(LANG_KEY);
  return stored === 'en' ? 'en' : 'sv';
}

export function setLang(value) {
  localStorage.setItem(LANG_KEY, value === 'en' ? 'en' : 'sv');
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

// Loaded before any page module runs (they import this one): Swedish always, every text falls back to it;
// English when chosen (switching reloads the page).
const load = (code) => fetch(`/i18n/admin.${code}.json`).then((res) => res.json());
const [sv, en] = await Promise.all([load('sv'), lang() === 'en' ? load('en') : {}]);
Object.assign(catalogs.sv, sv);
Object.assign(catalogs.en, en);
