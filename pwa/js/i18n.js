/* Texts in Swedish (default) and English from i18n/<lang>.json.
 *
 * Exports: loadCatalogs(), t(key, vars) — "{name}" placeholders are filled from vars; `key_one` is used when
 * vars.n is 1 and exists; a missing key falls back to Swedish, then to the key itself; lang(), setLang(code) (remembered in localStorage), LANGS.
 */
export const LANGS = ['sv', 'en'];
const catalogs = {};
let current = 'sv';

export async function loadCatalogs() {
  const saved = localStorage.getItem('lang');
  current = LANGS.includes(saved) ? saved : 'sv';
  await Promise.all(LANGS.map(async (code) => {
    const res = await fetch(`/i18n/${code}.json`);
    catalogs[code] = await res.json();
  }));
  document.documentElement.lang = current;
}

export const lang = () => current;

export function setLang(code) {
  if (!LANGS.includes(code)) return;
  current = code;
  localStorage.setItem('lang', code);
  document.documentElement.lang = code;
}

export function has(key) {
  return key in (catalogs[current] || {}) || key in (catalogs.sv || {});
}

export function t(key, vars = {}) {
  if (vars.n === 1 && has(`${key}_one`)) key = `${key}_one`; // singular forms: "1 osynkad", "2 osynkade"
  const text = (catalogs[current] || {})[key] ?? (catalogs.sv || {})[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}
