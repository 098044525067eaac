/* Recording events on the phone and getting them to the server, whatever the network does. Exports and rules:
 * docs/pwa.md, "Modules". */
import { APP_VERSION, JOURNAL_KEEP_DAYS, RETRY_BASE_MS, RETRY_MAX_MS, SYNC_EVERY_MS } from './config.js';
import { closeSealer, decryptJSON, encryptJSON, sealEvent } from './crypto.js';
import './core/sender.js';
import * as session from './session.js';
import { setReachable } from './api.js';
import { getMeta, idb, updateMeta } from './store.js';

const sender = self.hvSender;
export const ACCESS_LOG = 'client_record_opened';
const listeners = new Set();
let own = []; // decrypted journal
let outboxEntries = [];
let retryTimer = null;
let sending = false; // for the screens; `inflight` below is the guard
let syncState = {};

export const onChange = (fn) => listeners.add(fn);
export const journal = () => own;
export const entries = () => outboxEntries;
/** ISO 8601 with the device's offset, the protocol's time format. */
export const isoLocal = (date) => sender.isoLocal(date);

function changed() {
  listeners.forEach((fn) => fn());
}

export function status() {
  return {
    pending: outboxEntries.filter((e) => e.state === 'pending' && !e.access).length,
    access: outboxEntries.filter((e) => e.state === 'pending' && e.access).length,
    rejected: outboxEntries.filter((e) => e.state === 'rejected').length,
    lastSuccessAt: syncState.last_push_at || null,
    nextRetryAt: syncState.next_retry_at || null,
    failures: syncState.failures || 0,
    lastError: syncState.last_error || null,
    sending,
  };
}

/** Re-read the outbox and the journal statuses (the service worker may have sent in the background). */
export async function refresh() {
  outboxEntries = (await idb.tx(['outbox'], 'readonly', (t) => idb.req(t.objectStore('outbox').index('device_seq').getAll())))
    .map(({ id, state, code, message, created_at: createdAt, device_seq: seq, access }) => ({ id, state, code, message, created_at: createdAt, device_seq: seq, access: Boolean(access) }));
  syncState = (await getMeta('sync')) || {};
  if (session.dataKey()) {
    const rows = await idb.getAll('journal');
    const statusById = new Map(rows.map((r) => [r.id, r]));
    own = own.filter((e) => statusById.has(e.id)).map((e) => ({ ...e, status: statusById.get(e.id).status, code: statusById.get(e.id).code }));
  } else {
    own = [];
  }
  changed();
}

export async function loadJournal() {
  const key = session.dataKey();
  const rows = (await idb.getAll('journal')).sort((a, b) => a.device_seq - b.device_seq);
  const cutoff = Date.now() - JOURNAL_KEEP_DAYS * 86400000;
  const old = [];
  own = [];
  for (const row of rows) {
    const event = await decryptJSON(key, row.box, row.id);
    if (row.status === 'sent' && new Date(event.occurred_at).getTime() < cutoff) old.push(row.id);
    else own.push({ ...event, status: row.status, code: row.code });
  }
  if (old.length) await idb.tx(['journal'], 'readwrite', async (t) => { for (const id of old) await idb.req(t.objectStore('journal').delete(id)); });
  await refresh();
}

async function nextSeq() {
  return idb.tx(['meta'], 'readwrite', async (t) => {
    const meta = t.objectStore('meta');
    const dev = await idb.req(meta.get('device'));
    const seq = dev.next_seq || 0;
    await idb.req(meta.put({ ...dev, next_seq: seq + 1 }, 'device'));
    return seq;
  });
}

export async function enqueue({ type, payload }) {
  const key = session.dataKey();
  const dev = await getMeta('device');
  if (!key || !dev || !dev.outbox_key) throw new Error('enqueue needs an unlocked, enrolled device');
  const event = { id: crypto.randomUUID(), type, occurred_at: sender.isoLocal(), device_seq: await nextSeq(), payload };
  // Crypto first: nothing but IndexedDB requests may be awaited inside the transaction.
  const { sealed, epk } = await sealEvent(event, dev.outbox_key);
  if (!session.dataKey()) closeSealer(); // locked meanwhile: no session key may outlive the lock
  const box = await encryptJSON(key, event, event.id);
  await idb.tx(['outbox', 'journal'], 'readwrite', async (t) => {
    await idb.req(t.objectStore('outbox').put({
      id: event.id, device_seq: event.device_seq, created_at: event.occurred_at, sealed, state: 'pending',
      kid: dev.outbox_key.kid, user_id: dev.user_id, ...(epk ? { epk } : {}),
      ...(type === ACCESS_LOG ? { access: true } : {}), // the kind only, in the clear: no client, no content
    }));
    await idb.req(t.objectStore('journal').put({ id: event.id, device_seq: event.device_seq, status: 'pending', box }));
  });
  own.push({ ...event, status: 'pending' });
  await refresh();
  requestBackgroundSync();
  schedule(0);
  return event;
}

function requestBackgroundSync() {
  navigator.serviceWorker?.ready.then((reg) => reg.sync && reg.sync.register('outbox')).catch(() => {
    // Background Sync is refused or missing (Firefox, Safari): the page triggers cover it.
  });
}

function schedule(delay) {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => { attempt(false); }, delay);
}

function backoff(failures) {
  const base = Math.min(RETRY_BASE_MS * 2 ** (failures - 1), RETRY_MAX_MS);
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

let inflight = null;
let again = false; // something was recorded or asked for while a delivery was under way

function attempt(force) {
  if (inflight) {
    again = true;
    return inflight;
  }
  inflight = run(force).finally(() => {
    inflight = null;
    // Records enqueued during that delivery were not in its batch: go again, unless we are backing off.
    if (again && !(syncState.failures > 0)) schedule(0);
    again = false;
  });
  return inflight;
}

async function run(force) {
  sending = true;
  changed();
  let outcome = null;
  try {
    outcome = await sender.drain({ appVersion: APP_VERSION, forceStatus: force });
    setReachable(true);
    syncState = await updateMeta('sync', { failures: 0, next_retry_at: null, last_error: outcome.state === 'auth' ? outcome.code : null });
    if (outcome.state === 'auth') session.requireLogin();
    if (outcome.state === 'busy') schedule(1000); // the service worker is sending; look again shortly
  } catch (err) {
    if (!(err instanceof sender.TransientError)) throw err;
    setReachable(false);
    const failures = (syncState.failures || 0) + 1;
    const delay = backoff(failures);
    syncState = await updateMeta('sync', {
      failures, last_error: err.message, next_retry_at: new Date(Date.now() + delay).toISOString(),
      recent_delays_ms: [...(syncState.recent_delays_ms || []), delay].slice(-10),
    });
    schedule(delay);
  } finally {
    sending = false;
    await refresh();
  }
  return outcome;
}

export async function syncNow({ force = true } = {}) {
  clearTimeout(retryTimer);
  if (inflight) await inflight; // a request to a dead server may still be hanging: then try afresh
  syncState = await updateMeta('sync', { failures: 0, next_retry_at: null });
  return attempt(force);
}

function tick() {
  // A pending backoff wins over the timer; otherwise try now.
  if (syncState.next_retry_at && new Date(syncState.next_retry_at).getTime() > Date.now()) return;
  attempt(false);
}

// Network back or phone looked at: waiting records go now; the failure count stays (a dead server is only probed).
function retryNow() {
  if (!status().pending || inflight) return;
  clearTimeout(retryTimer);
  attempt(false);
}

export function start() {
  window.addEventListener('online', retryNow);
  window.addEventListener('focus', retryNow);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') (status().pending ? retryNow : tick)();
  });
  setInterval(tick, SYNC_EVERY_MS);
  navigator.serviceWorker?.addEventListener('message', (e) => { if (e.data && e.data.type === 'outbox-changed') refresh(); });
  refresh().then(() => attempt(false));
}
