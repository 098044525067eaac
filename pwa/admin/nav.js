// The pages of the manager and administrator area: one line per page, in menu order.
// Another area adds its page here (href is relative to /admin/, roles who may see the link).
export const NAV = [
  { href: 'index.html', key: 'nav.backlog', roles: ['manager', 'admin'] },
  { href: 'readiness.html', key: 'nav.readiness', roles: ['manager', 'admin'] },
  { href: 'access-log.html', key: 'nav.accessLog', roles: ['manager', 'admin'] },
  { href: 'exports.html', key: 'nav.exports', roles: ['manager', 'admin'] },
  { href: 'outages.html', key: 'nav.outages', roles: ['manager', 'admin'] },
  { href: 'backfill.html', key: 'nav.backfill', roles: ['manager', 'admin'] },
  { href: 'notifications.html', key: 'nav.push', roles: ['manager', 'admin'] },
  { href: 'import.html', key: 'nav.import', roles: ['admin'] },
  { href: 'manage.html', key: 'nav.manage', roles: ['admin'] },
  { href: 'deviations.html', key: 'nav.deviations', roles: ['manager', 'admin'] },
  { href: 'transfer.html', key: 'nav.transfer', roles: ['manager', 'admin'] },
  { href: 'approval.html', key: 'nav.approval', roles: ['manager', 'admin'] },
];
