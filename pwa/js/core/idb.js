/* The device database: a tiny promise wrapper over IndexedDB plus the app's schema. Exports and rules:
 * docs/pwa.md, "Modules". */
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
