"""Web Push: VAPID keys, subscriptions, the transactional notification outbox and its delivery loop."""
