"""gunicorn's settings for Hemvård Offline: production, the benchmarks and the soak all serve with this file.

    gunicorn -c gunicorn.conf.py -w 4 -b 127.0.0.1:8000 'server:create_app()'    # -w: one or two per core

gunicorn's own worker classes, chosen by the database:
* PostgreSQL: `gthread` — each process serves several requests at once on threads, so a push waiting for its
  worker's lock or its commit does not hold up the next; idle keep-alive connections wait in the poller, not on
  a thread.
* SQLite: `sync` — one request at a time per process; SQLite has one writer, so concurrency comes from
  processes (`-w`), each waiting for the write lock inside SQLite's busy handler. A sync worker reads a request
  whole before anything else, so it needs a buffering proxy in front (nginx does by default; docs/operations.md).

This file does not import the app: gunicorn reads it in the master process.
"""
import os


def worker_class_for(database_url):
    """gthread where the database is reached over sockets (PostgreSQL), sync for SQLite (and by default)."""
    return "gthread" if (database_url or "").startswith(("postgres://", "postgresql")) else "sync"


worker_class = worker_class_for(os.environ.get("DATABASE_URL"))
threads = 8 if worker_class == "gthread" else 1  # gthread: requests one process serves at once
worker_connections = 2000  # gthread: connections one process holds, idle keep-alive ones included
keepalive = 30  # seconds a phone's connection stays open between its outbox's batches
backlog = 2048  # the reconnect storm: 1,000 phones within a minute
timeout = 120
graceful_timeout = 20
