/* The page's view of the device database (schema in core/idb.js).
 *
 * Exports: idb (tx, req, get, put, del, getAll, clear), getMeta(key), putMeta(key, value),
 * updateMeta(key, patch), wipeReadable() — drops the wrapped data key, the vault and the journal,
 * keeps the device record (device_id, push_token, next_seq) and the sealed outbox.
 */
import './core/idb.js';

export const idb = self.hvIdb;

export const getMeta = (key) => idb.get('meta', key);
export const putMeta = (key, value) => idb.put('meta', value, key);

export function updateMeta(key, patch) {
  return idb.tx(['meta'], 'readwrite', async (t) => {
    const meta = t.objectStore('meta');
    const value = { ...((await idb.req(meta.get(key))) || {}), ...patch };
    await idb.req(meta.put(value, key));
    return value;
  });
}

export function wipeReadable() {
  return idb.tx(['meta', 'vault', 'journal'], 'readwrite', async (t) => {
    const meta = t.objectStore('meta');
    await idb.req(meta.delete('lock'));
    const sync = (await idb.req(meta.get('sync'))) || {};
    delete sync.copy_as_of;
    await idb.req(meta.put(sync, 'sync'));
    await idb.req(t.objectStore('vault').clear());
    await idb.req(t.objectStore('journal').clear());
  });
}
