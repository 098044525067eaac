/* Web Push for the service worker (issue 6 owns this file): the `push` and `notificationclick` handlers.
 * sw.js loads it with importScripts(), so it is a classic script running in the service worker scope. */
