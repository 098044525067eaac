/* The offline copy of the worker's shift: pulled from /api/sync/pull, kept encrypted in the vault. Exports and
 * rules: docs/pwa.md, "Modules". */
import { api, Unreachable } from './api.js';
import { decryptJSON, encryptJSON } from './crypto.js';
import * as session from './session.js';
import { getMeta, idb, updateMeta } from './store.js';

let pkg = null; // {as_of, cursor, window, visits: [], clients: []}
let early = null; // prefetch(): promise of the first pull's answer
const refreshed = new Set();

export const onRefresh = (fn) => refreshed.add(fn);

export async function load() {
  const box = await idb.get('vault', 'shift');
  pkg = box ? await decryptJSON(session.dataKey(), box, 'shift') : null;
  return pkg;
}

export const forget = () => { pkg = null; early = null; };

export function prefetch() {
  if (!session.token()) return;
  early = api('/api/sync/pull', { token: session.token() });
  early.catch(() => {}); // refresh() sees the failure
}

export function visits() {
  return pkg ? [...pkg.visits].sort((a, b) => a.planned_start.localeCompare(b.planned_start) || a.id - b.id) : [];
}

export const visit = (id) => (pkg ? pkg.visits.find((v) => v.id === Number(id)) : undefined);
export const client = (id) => (pkg ? pkg.clients.find((c) => c.id === Number(id)) : undefined);
export const clients = () => (pkg ? pkg.clients : []);
/** Open handover notes (Till nästa besök) of other workers, with the visits they are for; complete every pull. */
export const handovers = () => (pkg && pkg.handovers) || [];
export const hasCopy = () => Boolean(pkg);
export const asOf = () => (pkg ? pkg.as_of : null);
/** What the server already holds of my registration of a visit (from the last pull), or undefined. */
export const registration = (id) =>
  (pkg && pkg.registrations ? pkg.registrations.find((r) => r.visit_id === Number(id)) : undefined);

export function partners(v) {
  const me = session.user() ? session.user().id : (session.device() || {}).user_id;
  return (v.workers || []).filter((w) => w.id !== me);
}

export async function copyAsOf() {
  return ((await getMeta('sync')) || {}).copy_as_of || null;
}

function merge(previous, answer) {
  if (answer.full || !previous) return { ...answer };
  const keep = new Set(answer.visit_ids);
  const byId = (list) => new Map(list.map((x) => [x.id, x]));
  const visitsById = byId(previous.visits);
  answer.visits.forEach((v) => visitsById.set(v.id, v));
  const mergedVisits = [...visitsById.values()].filter((v) => keep.has(v.id));
  const clientsById = byId(previous.clients);
  answer.clients.forEach((c) => clientsById.set(c.id, c));
  const needed = new Set(mergedVisits.map((v) => v.client_id));
  return { ...answer, visits: mergedVisits, clients: [...clientsById.values()].filter((c) => needed.has(c.id)) };
}

export async function refresh() {
  if (session.state() !== 'unlocked' || !session.token()) return 'auth';
  const cursor = pkg && pkg.cursor ? `?cursor=${encodeURIComponent(pkg.cursor)}` : '';
  const answer = !cursor && early;
  early = null;
  let res;
  try {
    res = await (answer || api(`/api/sync/pull${cursor}`, { token: session.token() }));
  } catch (e) {
    if (e instanceof Unreachable) return 'offline';
    throw e;
  }
  if (res.status === 401) {
    if (res.body.code === 'device_revoked') await session.logout();
    else session.requireLogin();
    return 'auth';
  }
  if (res.status !== 200) return 'error';
  const key = session.dataKey();
  if (!key) return 'auth'; // locked while the answer was on its way
  const next = merge(pkg, res.body);
  await idb.put('vault', await encryptJSON(key, next, 'shift'), 'shift');
  pkg = next;
  await updateMeta('sync', { copy_as_of: next.as_of, last_pull_at: new Date().toISOString() });
  refreshed.forEach((fn) => fn());
  return 'ok';
}
