/* Who is using the phone and whether the offline copy is readable: login, PIN, unlock, auto-lock, wipe. Exports
 * and rules: docs/pwa.md, "Modules". */
import { api, Unreachable } from './api.js';
import { closeSealer, createLock, decryptJSON, encryptJSON, openLock, openSealer, WrongPin } from './crypto.js';
import { DEFAULT_SETTINGS } from './config.js';
import { getMeta, idb, putMeta, updateMeta, wipeReadable } from './store.js';

export class LoginError extends Error {
  constructor(code) { super(code); this.code = code; }
}
export class WrongPinError extends Error {
  constructor(remaining) { super('wrong pin'); this.remaining = remaining; }
}
export class WipedError extends Error {}

let current = 'login';
let key = null;
let sessionData = null; // {token, expires_at, user}
let deviceData = null;
let wiped = false;
let relogin = false;
let lastActivity = Date.now();
const listeners = new Set();

export const state = () => current;
export const dataKey = () => key;
export const token = () => sessionData && sessionData.token;
export const user = () => sessionData && sessionData.user;
export const device = () => deviceData;
export const settings = () => ({ ...DEFAULT_SETTINGS, ...((deviceData && deviceData.settings) || {}) });
export const onChange = (fn) => listeners.add(fn);
export const touch = () => { lastActivity = Date.now(); };
export const needsLogin = () => relogin;

export function wipedNotice() {
  const was = wiped;
  wiped = false;
  return was;
}

function go(next) {
  current = next;
  listeners.forEach((fn) => fn(next));
}

export async function init() {
  deviceData = (await getMeta('device')) || null;
  const lockRecord = await getMeta('lock');
  current = lockRecord ? 'locked' : 'login';
  return current;
}

async function ensureDevice() {
  deviceData = (await getMeta('device')) || null;
  if (!deviceData) {
    deviceData = { device_id: crypto.randomUUID(), next_seq: 0 };
    await putMeta('device', deviceData);
  }
  return deviceData;
}

/** How managers and administrators tell phones apart: model (or system), browser and the day it was enrolled. */
export function deviceName(ua = navigator.userAgent, now = new Date()) {
  const browser = [['Edg/', 'Edge'], ['Firefox/', 'Firefox'], ['SamsungBrowser/', 'Samsung Internet'], ['Chrome/', 'Chrome'], ['Safari/', 'Safari']]
    .find(([mark]) => ua.includes(mark));
  const system = [['Android', 'Android'], ['iPhone', 'iPhone'], ['iPad', 'iPad'], ['Windows', 'Windows'], ['Mac OS', 'Mac'], ['Linux', 'Linux']]
    .find(([mark]) => ua.includes(mark));
  const model = (ua.match(/Android [\d.]+; (?:[a-z]{2}-[a-z]{2}; )?([^;)]+?)(?: Build\/[^;)]*)?\)/) || [])[1];
  const day = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
  return [model && model !== 'K' ? model : system && system[1], browser ? browser[1] : null, day].filter(Boolean).join(' · ');
}

async function requestToken(username, password, deviceId) {
  try {
    return await api('/api/auth/token', {
      method: 'POST', body: { username, password, device_id: deviceId, device_name: deviceName() },
    });
  } catch (e) {
    if (e instanceof Unreachable) throw new LoginError('offline');
    throw e;
  }
}

export async function login(username, password) {
  const dev = await ensureDevice();
  let deviceId = dev.device_id;
  let res = await requestToken(username, password, deviceId);
  if (res.status === 409 && res.body.code === 'device_id_taken') {
    // The id belongs to a colleague (shared phone) or was revoked: this worker gets a new one.
    deviceId = crypto.randomUUID();
    res = await requestToken(username, password, deviceId);
  }
  if (res.status !== 200) throw new LoginError(res.body.code || `http_${res.status}`);
  const b = res.body;
  if (b.user.role !== 'worker') throw new LoginError('not_worker');
  const workers = { ...(dev.workers || {}) };
  if (dev.user_id !== undefined && dev.user_id !== b.user.id && dev.push_token) {
    // Keep the previous worker's credentials: their unsynced records still go out under their name.
    workers[dev.user_id] = { device_id: dev.device_id, push_token: dev.push_token };
  }
  delete workers[b.user.id];
  deviceData = await updateMeta('device', {
    device_id: b.device_id || deviceId, push_token: b.push_token, outbox_key: b.outbox_key,
    settings: b.settings, user_id: b.user.id, workers,
  });
  const sameWorker = Boolean(sessionData && sessionData.user && sessionData.user.id === b.user.id);
  sessionData = { token: b.token, expires_at: b.expires_at, user: b.user };
  if (key && !sameWorker) {
    // Another worker on an unlocked phone: the previous worker's readable copy must not stay.
    key = null;
    closeSealer();
    await wipeReadable();
  }
  if (key) {
    await saveSession();
    relogin = false;
    go('unlocked');
  } else {
    go('setpin');
  }
}

async function saveSession() {
  await idb.put('vault', await encryptJSON(key, sessionData, 'session'), 'session');
}

export async function setPin(pin) {
  const { lock: lockRecord, dataKey: fresh } = await createLock(pin, settings().pbkdf2_iterations);
  key = fresh;
  openSealer(deviceData && deviceData.outbox_key);
  await putMeta('lock', { ...lockRecord, failed: 0 });
  await saveSession();
  touch();
  go('unlocked');
}

export async function unlock(pin) {
  // Count the attempt before trying, so closing the page mid-attempt gives no free tries.
  const lockRecord = await updateMeta('lock', {});
  const failed = (lockRecord.failed || 0) + 1;
  await updateMeta('lock', { failed });
  try {
    key = await openLock(lockRecord, pin);
  } catch (e) {
    if (!(e instanceof WrongPin)) throw e;
    const remaining = settings().pin_max_attempts - failed;
    if (remaining <= 0) {
      await wipe();
      throw new WipedError('wiped');
    }
    throw new WrongPinError(remaining);
  }
  openSealer(deviceData && deviceData.outbox_key);
  await updateMeta('lock', { failed: 0 });
  const box = await idb.get('vault', 'session');
  sessionData = box ? await decryptJSON(key, box, 'session') : null;
  touch();
  go('unlocked');
}

async function wipe() {
  key = null;
  closeSealer();
  sessionData = null;
  await wipeReadable();
  wiped = true;
  go('login');
}

export function lock() {
  if (current !== 'unlocked') return;
  key = null;
  closeSealer();
  sessionData = null;
  go('locked');
}

export async function logout() {
  await wipe();
  wiped = false;
}

/** The server refused the token (expired): work goes on offline, the header asks for a new login. */
export function requireLogin() {
  relogin = true;
  listeners.forEach((fn) => fn(current));
}

export function checkIdle(now = Date.now()) {
  if (current === 'unlocked' && now - lastActivity > settings().auto_lock_minutes * 60000) lock();
}
