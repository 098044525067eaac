"""gunicorn's settings for Hemvård Offline: production, the benchmarks and the soak all serve with this file.

    gunicorn -c gunicorn.conf.py -w 4 -b 127.0.0.1:8000 'server:create_app()'    # -w: one per core

On PostgreSQL each process is a **gevent** worker: one OS thread whose requests wait for the database as
greenlets, so a push waiting on a lock or a commit does not hold up the next one, and a process needs no
thread hand-offs per request (measured: ~25 % more pushes of one per second on two cores than gthread with
two threads, mostly because the cores no longer idle between hand-offs — BENCHMARKS.md). psycopg notices gevent's patched `select` and
waits cooperatively; so does `server.dbutil.pg_pipeline` (it polls with `select.poll`, which gevent patches).
`post_worker_init` refuses to serve if that is not so, since a blocking wait would stall every request of
the process.

On SQLite the workers stay **gthread**: sqlite3 waits for another writer's lock inside C with the OS thread
asleep; under gevent that would stall every request of the process for up to `busy_timeout`.

This file must not import the app (`server`): gunicorn reads it in the master process, before a gevent
worker patches the standard library, and modules imported there would keep their blocking calls.
"""
import os


def worker_class_for(database_url):
    """gevent where the database is reached over sockets (PostgreSQL), gthread for SQLite (and by default)."""
    return "gevent" if (database_url or "").startswith(("postgres://", "postgresql")) else "gthread"


worker_class = worker_class_for(os.environ.get("DATABASE_URL"))
# gevent: connections one process holds at once. A phone's idle keep-alive connection holds its place too, so
# this must exceed the phones connected to a process at the same moment (with 200, the benchmark's 1,000 phones
# reconnecting in one second waited up to `keepalive` for a place: 32 s to drain instead of 3).
worker_connections = 2000
threads = 2  # gthread: one request's Python runs while the other's waits for the database
keepalive = 30  # seconds: a phone's outbox goes in several batches on one connection
backlog = 2048  # the reconnect storm: 1,000 phones within a minute
timeout = 120
graceful_timeout = 20


def post_worker_init(worker):
    """Refuse to serve from a gevent worker whose database waits would block the whole process."""
    if not type(worker).__module__.endswith(".ggevent"):  # the class in use: GUNICORN_CMD_ARGS may override
        return
    import gevent.monkey
    import psycopg.waiting
    blocking_wait = getattr(psycopg.waiting, "wait_c", None)  # psycopg's C wait: blocks the OS thread
    if not gevent.monkey.is_module_patched("select") or psycopg.waiting.wait is blocking_wait:
        worker.log.critical("gevent worker without cooperative database waits (psycopg was imported before "
                            "gevent patched the standard library?); refusing to serve")
        raise SystemExit(4)
