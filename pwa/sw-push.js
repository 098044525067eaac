/* Web Push for the service worker (issue 6 owns this file): the `push` and `notificationclick` handlers.
 * sw.js loads it with importScripts(), so it is a classic script running in the service worker scope.
 *
 * A message is {id, kind, title, body, title_en, body_en, url, at}: texts and a screen, never a person.
 * The notification's tag is the message id, so a message the server had to send twice shows once.
 * "The system is back" also drains the sealed outbox at once, so records sync before the app is opened.
 * Exposed as self.hvPush {show(message), open(url)} for tests and for sw.js.
 */
(function (global) {
  'use strict';

  const FALLBACK = { title: 'Hemvård Offline', body: 'Öppna appen.', url: '/' };

  function safeUrl(url) {
    // Only screens of this app: a push message must not be able to send the worker anywhere else.
    if (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//')) return '/';
    return url;
  }

  async function preferredLang() {
    try {
      const meta = global.hvIdb && (await global.hvIdb.get('meta', 'push'));
      return (meta && meta.lang) || 'sv';
    } catch (e) {
      return 'sv';
    }
  }

  function parse(data) {
    if (!data) return {};
    try {
      const value = data.json();
      return value && typeof value === 'object' ? value : {};
    } catch (e) {
      return {};
    }
  }

  async function show(message) {
    const en = (await preferredLang()) === 'en';
    const title = (en && message.title_en) || message.title || FALLBACK.title;
    const body = (en && message.body_en) || message.body || FALLBACK.body;
    const options = {
      body,
      lang: en ? 'en' : 'sv',
      icon: '/icons/icon-192.png',
      badge: '/icons/icon-192.png',
      data: { url: safeUrl(message.url || FALLBACK.url), id: message.id || null, kind: message.kind || null },
    };
    if (message.id) { options.tag = message.id; options.renotify = false; }
    await global.registration.showNotification(title, options);
    const windows = await global.clients.matchAll({ type: 'window', includeUncontrolled: true });
    windows.forEach((w) => w.postMessage({ type: 'push', kind: message.kind || null }));
    if (message.kind === 'outage_ended' && typeof global.drainAndTell === 'function') {
      try { await global.drainAndTell(); } catch (e) { /* offline or server busy: Background Sync retries */ }
    }
  }

  async function open(url) {
    const target = new URL(safeUrl(url), global.location.origin);
    const windows = await global.clients.matchAll({ type: 'window', includeUncontrolled: true });
    // The worker app and the admin pages are different pages: reuse a window of the same page if one is open.
    const same = windows.find((w) => new URL(w.url).pathname === target.pathname);
    if (same) {
      try { await same.focus(); } catch (e) { /* focus needs the click's user activation; navigation does not */ }
      if (same.url !== target.href && same.navigate) return same.navigate(target.href);
      return same;
    }
    return global.clients.openWindow(target.href);
  }

  global.addEventListener('push', (event) => {
    event.waitUntil(show(parse(event.data)));
  });

  global.addEventListener('notificationclick', (event) => {
    event.notification.close();
    event.waitUntil(open(event.notification.data && event.notification.data.url));
  });

  global.hvPush = { show, open, safeUrl };
})(self);
