/* Constants of the front end; thresholds come from the server's `settings` (login answer) when it sends them. */
export const APP_VERSION = '1.4.0';

// Used until the first login delivers the server's settings (the same defaults as server/config.py).
export const DEFAULT_SETTINGS = {
  copy_age_warn_minutes: 60,
  copy_age_alert_minutes: 720,
  max_batch: 100,
  pin_max_attempts: 5,
  auto_lock_minutes: 5,
  pbkdf2_iterations: 600000,
};

export const PIN_PATTERN = /^\d{4,8}$/;
export const SYNC_EVERY_MS = 60 * 1000; // push timer while the app is open
export const PULL_EVERY_MS = 10 * 60 * 1000; // refresh the offline copy while online and unlocked
export const RETRY_BASE_MS = 2000; // backoff: base · 2^(failures-1), jittered to 50–100 %, capped
// Waiting records go out ≤ 30 s after the server is back; a try after failures is a cheap probe (core/sender.js).
export const RETRY_MAX_MS = 30 * 1000;
export const JOURNAL_KEEP_DAYS = 3; // own synced records kept for the visit states and the sync screen
