/* Web Push on this phone: whether it can, and subscribe / unsubscribe with the server for the logged-in device.
 * Exports and rules: docs/pwa.md, "Modules". */
const META_KEY = 'push';

export class PushError extends Error {
  constructor(code) { super(code); this.code = code; }
}

function iosVersion() {
  const ua = navigator.userAgent;
  const iPadOS = /Macintosh/.test(ua) && navigator.maxTouchPoints > 1;
  if (!/iPhone|iPad|iPod/.test(ua) && !iPadOS) return null;
  const m = ua.match(/OS (\d+)_(\d+)/) || ua.match(/Version\/(\d+)\.(\d+)/);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

const standalone = () => navigator.standalone === true
  || (window.matchMedia && window.matchMedia('(display-mode: standalone)').matches);

export function support() {
  const ios = iosVersion();
  if (ios) {
    // Safari on iOS/iPadOS offers Web Push only from 16.4, and only to an app added to the home screen.
    if (ios[0] < 16 || (ios[0] === 16 && ios[1] < 4)) return 'ios-too-old';
    if (!standalone()) return 'ios-home-screen';
  }
  if (!window.isSecureContext) return 'insecure';
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  return 'ok';
}

async function registration() {
  return navigator.serviceWorker.ready;
}

function keyBytes(base64url) {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function sameKey(a, b) {
  if (!a || !b || a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

async function call(path, { method = 'GET', body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new PushError('offline');
  }
  if (!res.ok) throw new PushError('server');
  return res.json();
}

async function putMeta(value) {
  if (!self.hvIdb) return;
  try { await self.hvIdb.put('meta', value, META_KEY); } catch (e) { /* no database yet: defaults apply */ }
}

export async function rememberLang(lang) {
  const old = self.hvIdb ? await self.hvIdb.get('meta', META_KEY).catch(() => null) : null;
  await putMeta({ ...(old || {}), lang });
}

export async function status() {
  const s = support();
  const permission = 'Notification' in window ? Notification.permission : 'default';
  if (s !== 'ok' && s !== 'denied') return { support: s, permission, subscribed: false };
  const sub = await (await registration()).pushManager.getSubscription();
  return { support: s, permission, subscribed: Boolean(sub) && permission === 'granted' };
}

export async function subscribe(token, lang = 'sv') {
  if (support() !== 'ok') throw new PushError(support() === 'denied' ? 'denied' : 'unsupported');
  // Ask only now, after the worker read what is sent and pressed the button (never on page load).
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new PushError('denied');
  const { public_key: publicKey } = await call('/api/push/public-key');
  const key = keyBytes(publicKey);
  const reg = await registration();
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameKey(sub.options && sub.options.applicationServerKey, key)) {
    await sub.unsubscribe(); // made for another server key (a reinstalled server): start over
    sub = null;
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await call('/api/push/subscriptions', { method: 'POST', body: sub.toJSON(), token });
  await putMeta({ lang, endpoint: sub.endpoint });
}

export async function unsubscribe(token) {
  const reg = await registration();
  const sub = await reg.pushManager.getSubscription();
  const endpoint = sub ? sub.endpoint : undefined;
  if (sub) await sub.unsubscribe();
  // The browser no longer receives anything; tell the server too so it stops sending (410 would do it later).
  await call('/api/push/subscriptions', { method: 'DELETE', body: endpoint ? { endpoint } : {}, token })
    .catch(() => null);
}

export async function refresh(token, lang = 'sv') {
  try {
    if (support() !== 'ok' || Notification.permission !== 'granted' || !navigator.onLine) return false;
    const sub = await (await registration()).pushManager.getSubscription();
    if (!sub) return false;
    await call('/api/push/subscriptions', { method: 'POST', body: sub.toJSON(), token });
    await putMeta({ lang, endpoint: sub.endpoint });
    return true;
  } catch (e) {
    return false; // offline or the server is busy: the next login tries again
  }
}
