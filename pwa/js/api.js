/* fetch() for the JSON API, and whether the server was reachable the last time we asked.
 *
 * Exports: api(path, {method, body, token}) → {status, body}; throws Unreachable on network failure.
 * reachable() → true | false | null (unknown); onReachability(fn).
 */
export class Unreachable extends Error {}

let lastReachable = null;
const listeners = new Set();

export const reachable = () => lastReachable;
export const onReachability = (fn) => listeners.add(fn);

export function setReachable(value) {
  if (value === lastReachable) return;
  lastReachable = value;
  listeners.forEach((fn) => fn(value));
}

export async function api(path, { method = 'GET', body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    setReachable(false);
    throw new Unreachable(path);
  }
  let data = {};
  try { data = await res.json(); } catch (e) { /* empty or non-JSON body */ }
  setReachable(res.status < 500);
  return { status: res.status, body: data };
}
