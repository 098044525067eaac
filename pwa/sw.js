/* Service worker: the app shell from a versioned cache (offline navigation), and Background Sync of the
 * sealed outbox. API answers are never cached: client data lives only encrypted in IndexedDB.
 * Web Push handlers live in sw-push.js (issue 6). VERSION must equal APP_VERSION in js/config.js. */
importScripts('/js/core/idb.js', '/js/core/sender.js', '/sw-push.js');

const VERSION = '1.4.0';
const CACHE = `app-static-${VERSION}`;
const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/css/app.css',
  '/css/print.css',
  '/i18n/sv.json',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/maskable-512.png',
  '/js/app.js',
  '/js/api.js',
  '/js/config.js',
  '/js/crypto.js',
  '/js/dom.js',
  '/js/i18n.js',
  '/js/outbox.js',
  '/js/push.js',
  '/js/records.js',
  '/js/session.js',
  '/js/shift.js',
  '/js/store.js',
  '/js/core/idb.js',
  '/js/core/sender.js',
  '/js/views/client.js',
  '/js/views/login.js',
  '/js/views/postreg.js',
  '/js/views/print.js',
  '/js/views/push.js',
  '/js/views/setpin.js',
  '/js/views/sync.js',
  '/js/views/today.js',
  '/js/views/unlock.js',
  '/js/views/visit.js',
];
// Kept the first time they are used, and again by each new version on phones that used them: Swedish phones
// never download the English texts (the shell stays within its 60 KB), English ones keep them offline.
const ON_DEMAND = ['/i18n/en.json'];
// Navigations the shell answers offline; other pages on this origin (admin, manager) go to the network.
const SHELL_PAGES = ['/', '/index.html'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const used = [];
    for (const url of ON_DEMAND) if (await caches.match(url)) used.push(url); // from the version being replaced
    const cache = await caches.open(CACHE);
    await cache.addAll([...SHELL, ...used].map((url) => new Request(url, { cache: 'reload' })));
  })());
});

async function onDemand(request, path) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(path);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok) await cache.put(path, res.clone());
  return res;
}

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith('app-static-') && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate') {
    if (!SHELL_PAGES.includes(url.pathname)) return;
    event.respondWith(caches.match('/', { cacheName: CACHE }).then((hit) => hit || fetch(request)));
    return;
  }
  if (ON_DEMAND.includes(url.pathname)) event.respondWith(onDemand(request, url.pathname));
  else event.respondWith(caches.match(url.pathname, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
});

async function drainAndTell() {
  const outcome = await self.hvSender.drain({ appVersion: VERSION });
  const windows = await self.clients.matchAll({ type: 'window' });
  windows.forEach((w) => w.postMessage({ type: 'outbox-changed', outcome }));
  return outcome;
}

self.addEventListener('sync', (event) => {
  // A TransientError rejects waitUntil, so the browser schedules another attempt.
  if (event.tag === 'outbox') event.waitUntil(drainAndTell());
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skip-waiting') self.skipWaiting();
});
