/* The device database: a tiny promise wrapper over IndexedDB plus the app's schema.
 *
 * A classic script on purpose: the service worker loads it with importScripts() and the page with a
 * side-effect `import './core/idb.js'`; both then use `self.hvIdb`. Exports (on self.hvIdb):
 *   openDB(name, version, {upgrade})  — promise of an IDBDatabase; upgrade(db, oldVersion, tx)
 *   db()                              — the app database (opened once)
 *   tx(stores, mode, fn)              — runs fn(transaction) and resolves with its result on commit;
 *                                       fn may only await requests of that transaction (req()), nothing else
 *   req(request)                      — promise of an IDBRequest's result
 *   get/put/del/getAll/clear          — one-request transactions
 *
 * Stores (no names, personal numbers or note text in plaintext, keys and indexes included):
 *   meta     fixed string keys: 'device' (device_id, next_seq, push_token, outbox_key, settings),
 *            'lock' (PIN salt, iterations, wrapped data key, failed attempts), 'sync' (times, backoff)
 *   vault    'shift' and 'session': AES-GCM boxes {iv, ct} under the data key
 *   journal  keyPath id (event UUID): {id, device_seq, status, box} — the worker's own records, encrypted
 *   outbox   keyPath id (event UUID): {id, device_seq, created_at, sealed, state, code, message}
 *            sealed to the server's outbox key: sendable after a wipe, unreadable on the phone
 */
(function (global) {
  'use strict';

  const DB_NAME = 'hemvard';
  const DB_VERSION = 1;

  function req(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  function openDB(name, version, { upgrade } = {}) {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(name, version);
      request.onupgradeneeded = (e) => upgrade && upgrade(request.result, e.oldVersion, request.transaction);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('database upgrade blocked by another tab'));
    });
  }

  function upgrade(database, oldVersion) {
    switch (oldVersion) {
      case 0: {
        database.createObjectStore('meta');
        database.createObjectStore('vault');
        database.createObjectStore('journal', { keyPath: 'id' });
        const outbox = database.createObjectStore('outbox', { keyPath: 'id' });
        outbox.createIndex('device_seq', 'device_seq');
      }
      // Later versions add `case 1:` here and fall through.
    }
  }

  let opening = null;

  function db() {
    if (!opening) {
      opening = openDB(DB_NAME, DB_VERSION, { upgrade }).then((database) => {
        database.onversionchange = () => { database.close(); opening = null; };
        database.onclose = () => { opening = null; };
        return database;
      }, (err) => { opening = null; throw err; });
    }
    return opening;
  }

  async function tx(storeNames, mode, fn) {
    const database = await db();
    return new Promise((resolve, reject) => {
      const transaction = database.transaction(storeNames, mode);
      let result;
      transaction.oncomplete = () => resolve(result);
      transaction.onabort = () => reject(transaction.error || new Error('transaction aborted'));
      Promise.resolve()
        .then(() => fn(transaction))
        .then((value) => { result = value; }, (err) => {
          try { transaction.abort(); } catch (e) { /* already finished */ }
          reject(err);
        });
    });
  }

  const get = (store, key) => tx([store], 'readonly', (t) => req(t.objectStore(store).get(key)));
  const getAll = (store) => tx([store], 'readonly', (t) => req(t.objectStore(store).getAll()));
  const put = (store, value, key) => tx([store], 'readwrite', (t) => req(
    key === undefined ? t.objectStore(store).put(value) : t.objectStore(store).put(value, key)));
  const del = (store, key) => tx([store], 'readwrite', (t) => req(t.objectStore(store).delete(key)));
  const clear = (store) => tx([store], 'readwrite', (t) => req(t.objectStore(store).clear()));

  global.hvIdb = { DB_NAME, DB_VERSION, openDB, db, tx, req, get, getAll, put, del, clear };
})(self);
