/* Delivers the sealed outbox to POST /api/sync/push (docs/protocol.md) — one algorithm for the page and the
 * service worker's Background Sync. A classic script (see core/idb.js for why); needs self.hvIdb. Exports and
 * rules: docs/pwa.md, "Modules". */
(function (global) {
  'use strict';

  // Looked up on use: the page's module graph may evaluate this file before core/idb.js.
  const tx = (...a) => global.hvIdb.tx(...a);
  const req = (r) => global.hvIdb.req(r);
  const get = (store, key) => global.hvIdb.get(store, key);
  const PROTOCOL = 1;
  const HARD_MAX_BATCH = 100;
  const MAX_KEYS = 64; // session keys (v2) named in one request
  const STATUS_EVERY_MS = 5 * 60 * 1000; // status-only pushes keep the managers' readiness view fresh
  const LOCK_NAME = 'hemvard-outbox';

  class TransientError extends Error {}
  class AuthStop extends Error {
    constructor(code) { super(code); this.code = code; }
  }

  function pad(n) { return String(n).padStart(2, '0'); }

  /** ISO 8601 with the device's own offset, as the protocol asks ("2026-03-29T08:02:11.000+02:00"). */
  function isoLocal(date = new Date()) {
    const off = -date.getTimezoneOffset();
    const sign = off >= 0 ? '+' : '-';
    const abs = Math.abs(off);
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
      `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.` +
      `${String(date.getMilliseconds()).padStart(3, '0')}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }

  function pendingEntries() {
    return tx(['outbox'], 'readonly', (t) => req(t.objectStore('outbox').index('device_seq').getAll()))
      .then((all) => all.filter((e) => e.state === 'pending'));
  }

  function statusBlock(entries, sync, appVersion) {
    const status = { pending: entries.length, device_clock: isoLocal(), app_version: appVersion };
    if (entries.length) status.oldest_pending_at = entries.map((e) => e.created_at).sort()[0];
    if (sync.copy_as_of) status.copy_as_of = sync.copy_as_of;
    return status;
  }

  async function readJSON(res) {
    try { return await res.json(); } catch (e) { return {}; }
  }

  /** The request: v2 entries name their session key by a short ref into `keys`; v1 entries carry their own. */
  function pushBody(slice, ctx) {
    const keys = {};
    const refs = new Map();
    const events = slice.map((e) => {
      if (!e.epk) return { id: e.id, sealed: e.sealed };
      if (!refs.has(e.epk)) {
        refs.set(e.epk, String(refs.size));
        keys[refs.get(e.epk)] = e.epk;
      }
      return { id: e.id, k: refs.get(e.epk), sealed: e.sealed };
    });
    const body = { protocol: PROTOCOL, device_id: ctx.deviceId, events, status: ctx.status };
    if (refs.size) body.keys = keys;
    return JSON.stringify(body);
  }

  /** gzip where CompressionStream exists (pages and workers alike); null → send it as it is. */
  async function gzip(text) {
    try {
      return await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
    } catch (e) {
      return null;
    }
  }

  async function post(slice, ctx) {
    let res;
    const json = pushBody(slice, ctx);
    const packed = await gzip(json);
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${ctx.token}` };
    if (packed) headers['Content-Encoding'] = 'gzip';
    try {
      res = await fetch('/api/sync/push', { method: 'POST', headers, body: packed || json });
    } catch (e) {
      throw new TransientError('network');
    }
    if (res.status === 200) {
      try { return { kind: 'ok', body: await res.json() }; } catch (e) { throw new TransientError('truncated'); }
    }
    if (res.status === 413) return { kind: 'too_large', body: await readJSON(res) };
    if (res.status === 422 || res.status === 400) return { kind: 'invalid', body: await readJSON(res) };
    if (res.status === 401 || res.status === 403) throw new AuthStop((await readJSON(res)).code || 'token_invalid');
    throw new TransientError(`http_${res.status}`);
  }

  function markJournal(journal, id, status, code) {
    return req(journal.get(id)).then((j) => j && req(journal.put({ ...j, status, code: code || null })));
  }

  function apply(slice, body, outcome) {
    const byId = new Map(slice.map((e) => [e.id, e]));
    return tx(['outbox', 'journal'], 'readwrite', async (t) => {
      const outbox = t.objectStore('outbox');
      const journal = t.objectStore('journal');
      for (const r of body.results || []) {
        const entry = byId.get(r.id);
        if (!entry) continue;
        if (r.status === 'applied' || r.status === 'duplicate') {
          await req(outbox.delete(r.id));
          await markJournal(journal, r.id, 'sent');
          outcome.applied += 1;
        } else if (r.status === 'rejected') {
          await req(outbox.put({ ...entry, state: 'rejected', code: r.code || 'rejected', message: r.message || '' }));
          await markJournal(journal, r.id, 'rejected', r.code);
          outcome.rejected += 1;
        }
      }
    });
  }

  function describe(body) {
    const details = Object.entries(body.errors || {}).map(([k, v]) => `${k}: ${[].concat(v).join(' ')}`);
    return [body.message, ...details].filter(Boolean).join(' — ');
  }

  function markRejected(entry, code, message, outcome) {
    outcome.rejected += 1;
    return tx(['outbox', 'journal'], 'readwrite', async (t) => {
      await req(t.objectStore('outbox').put({ ...entry, state: 'rejected', code, message }));
      await markJournal(t.objectStore('journal'), entry.id, 'rejected', code);
    });
  }

  /** Send a slice; 413/422 split it in halves until the culprit stands alone. */
  async function deliver(slice, ctx, outcome) {
    const r = await post(slice, ctx);
    if (r.kind === 'ok') return apply(slice, r.body, outcome);
    if (slice.length === 1) {
      const code = r.kind === 'too_large' ? 'batch_too_large' : (r.body.code || 'validation_error');
      return markRejected(slice[0], code, describe(r.body), outcome);
    }
    const mid = Math.ceil(slice.length / 2);
    await deliver(slice.slice(0, mid), ctx, outcome);
    await deliver(slice.slice(mid), ctx, outcome);
  }

  /** Slices of at most `size` entries naming at most MAX_KEYS session keys. */
  function batches(entries, size) {
    const out = [];
    let slice = [];
    let keys = new Set();
    for (const e of entries) {
      if (slice.length === size || (e.epk && !keys.has(e.epk) && keys.size === MAX_KEYS)) {
        out.push(slice);
        slice = [];
        keys = new Set();
      }
      slice.push(e);
      if (e.epk) keys.add(e.epk);
    }
    if (slice.length) out.push(slice);
    return out;
  }

  async function saveSync(patch) {
    await tx(['meta'], 'readwrite', async (t) => {
      const meta = t.objectStore('meta');
      const sync = (await req(meta.get('sync'))) || {};
      await req(meta.put({ ...sync, ...patch }, 'sync'));
    });
  }

  /** Entries by the worker who recorded them: each goes out with that worker's own push token. */
  function byWorker(entries, device) {
    const groups = new Map();
    for (const e of entries) {
      const uid = e.user_id === undefined || e.user_id === null ? device.user_id : e.user_id;
      if (!groups.has(uid)) groups.set(uid, []);
      groups.get(uid).push(e);
    }
    return groups;
  }

  /** {deviceId, token} the server knows that worker by on this phone (device ids are per worker). */
  function credentialsFor(device, uid) {
    if (uid === device.user_id) return { deviceId: device.device_id, token: device.push_token };
    const other = (device.workers || {})[uid];
    return other ? { deviceId: other.device_id, token: other.push_token } : null;
  }

  /** After failed tries, ask the server whether it is back before sending a batch (a few bytes, not kilobytes). */
  async function probe() {
    let res;
    try {
      res = await fetch('/healthz', { cache: 'no-store' });
    } catch (e) {
      throw new TransientError('network');
    }
    if (!res.ok) throw new TransientError(`http_${res.status}`);
  }

  async function drainLocked({ appVersion, forceStatus }) {
    const device = await get('meta', 'device');
    if (!device || !device.push_token) return { state: 'no_token', applied: 0, rejected: 0 };
    const entries = await pendingEntries();
    const sync = (await get('meta', 'sync')) || {};
    const status = statusBlock(entries, sync, appVersion);
    const outcome = { state: 'done', applied: 0, rejected: 0 };
    const now = Date.now();
    const size = Math.min((device.settings && device.settings.max_batch) || HARD_MAX_BATCH, HARD_MAX_BATCH);
    const delivered = []; // credentials that carried records: their phones' waiting counts changed
    try {
      if (!entries.length) {
        const due = forceStatus || sync.status_owed || now - (sync.last_status_at || 0) >= STATUS_EVERY_MS;
        if (!due) return { ...outcome, state: 'idle' };
        await post([], { status, deviceId: device.device_id, token: device.push_token }); // status only
      } else if (sync.failures) {
        await probe();
      }
      for (const [uid, mine] of byWorker(entries, device)) {
        const credentials = credentialsFor(device, uid);
        if (!credentials) continue; // no token for that worker on this phone: the records wait for their login
        try {
          for (const slice of batches(mine, size)) await deliver(slice, { status, ...credentials }, outcome);
          delivered.push(credentials);
        } catch (err) {
          if (err instanceof AuthStop && uid !== device.user_id) continue; // that user's token ran out
          throw err;
        }
      }
      if (delivered.length) {
        // Report what is left, so the managers' backlog drops the moment the outbox drains; owed until sent.
        await saveSync({ status_owed: true });
        const left = statusBlock(await pendingEntries(), sync, appVersion);
        for (const credentials of delivered) {
          try {
            await post([], { status: left, ...credentials });
          } catch (err) {
            if (!(err instanceof AuthStop) || credentials.token === device.push_token) throw err;
          }
        }
      }
    } catch (err) {
      if (err instanceof AuthStop) return { ...outcome, state: 'auth', code: err.code };
      throw err;
    }
    await saveSync({ last_push_at: new Date(now).toISOString(), last_status_at: now, status_owed: false });
    return outcome;
  }

  function drain(options = {}) {
    const locks = global.navigator && global.navigator.locks;
    if (!locks) return drainLocked(options);
    return locks.request(LOCK_NAME, { ifAvailable: true }, (lock) => (
      lock ? drainLocked(options) : { state: 'busy', applied: 0, rejected: 0 }));
  }

  global.hvSender = { drain, pendingEntries, isoLocal, TransientError };
})(self);
