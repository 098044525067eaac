/* Texts in Swedish (default) and English from i18n/<lang>.json.
 *
 * Exports: loadCatalogs() (Swedish, preloaded by index.html, and the chosen language), t(key, vars) — "{name}"
 * placeholders are filled from vars; `key_one` is used when vars.n is 1 and exists; a missing key falls back to
 * Swedish, then to the key itself; lang(), setLang(code) → Promise (fetches that catalogue; remembered), LANGS.
 */
export const LANGS = ['sv', 'en'];
const catalogs = {};
const loading = {};
let current = 'sv';

const load = (code) => (loading[code] ||= fetch(`/i18n/${code}.json`).then((res) => res.json())
  .then((texts) => { catalogs[code] = texts; }, (e) => { delete loading[code]; throw e; }));

export async function loadCatalogs() {
  const saved = localStorage.getItem('lang');
  current = LANGS.includes(saved) ? saved : 'sv';
  await Promise.all([...new Set(['sv', current])].map(load));
  document.documentElement.lang = current;
}

export const lang = () => current;

export async function setLang(code) {
  if (!LANGS.includes(code)) return;
  try {
    await load(code);
  } catch (e) {
    return; // offline before that catalogue was cached: stay in this language
  }
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
