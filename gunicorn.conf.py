"""gunicorn's settings for Hemvård Offline: production, the benchmarks and the soak all serve with this file.

    gunicorn -c gunicorn.conf.py -w 4 -b 127.0.0.1:8000 'server:create_app()'    # -w: one per core

On PostgreSQL each process is a **gevent** worker: one OS thread whose requests wait for the database as
greenlets, so a push waiting on a lock or a commit does not hold up the next one, and a process needs no
thread hand-offs per request (measured: ~25 % more pushes of one per second on two cores than gthread with
two threads, mostly because the cores no longer idle between hand-offs — BENCHMARKS.md). psycopg notices gevent's patched `select` and
waits cooperatively; so does `server.dbutil.pg_pipeline` (it polls with `select.poll`, which gevent patches).
`post_worker_init` refuses to serve if that is not so, since a blocking wait would stall every request of
the process. Pushes that reach one process together share a transaction (server/push_groups.py: group commit).

On SQLite each process is a **sync** worker: one request at a time, taken from the listening socket only when
the process is free, and the connection closed after its answer. SQLite has one writer; concurrency comes from
processes (`-w`), not threads or greenlets: sqlite3 waits for another writer's lock inside C with the OS thread
asleep (under gevent that would stall every request of the process for up to `busy_timeout`, and so would the
direct push's writers, which queue for that lock on an flock(2): server.dbutil.sqlite_write_transaction), and a
second thread's Python kept the GIL from the thread holding the write lock. gthread with one thread per process
had a worse flaw: a process whose thread was busy still accepted new keep-alive connections, so three of four
phones could wait on one process while the other idled (measured: 2,183 against 424 pushes of 1, 10 and 100
events; the sync worker 1,305 against 1,302, and 50–75 % more pushes of one and of ten per second — BENCHMARKS.md). A sync worker
reads a request whole before anything else, so it needs a proxy in front that buffers slow clients' requests
(nginx does by default; README, "Running in production").

This file must not import the app (`server`): gunicorn reads it in the master process, before a gevent
worker patches the standard library, and modules imported there would keep their blocking calls.
"""
import gc
import os


def worker_class_for(database_url):
    """gevent where the database is reached over sockets (PostgreSQL), sync for SQLite (and by default)."""
    return balanced_gevent_worker() if (database_url or "").startswith(("postgres://", "postgresql")) else "sync"


ACCEPT_PAUSE = 0.002  # seconds a busy gevent worker leaves a new connection to an idle sibling


def balanced_gevent_worker():
    """gunicorn's gevent worker, but a process already serving connections lets a new one wait a moment
    (ACCEPT_PAUSE) before it accepts it, so that an idle sibling process takes it first.

    Every worker process waits on the same listening socket and each is woken by a new connection; the one
    that runs first used to take them all. A phone keeps its connection for its whole outbox, so connections
    that arrive together (the end of an outage, the benchmark's four clients) stayed on one process, one core,
    while the other idled (measured: 3 of 4 connections on one worker in most runs). After its pause a busy
    worker accepts the connection if it is still there, so no connection waits longer than that.

    Imports gunicorn's gevent module as gunicorn itself does for `worker_class = "gevent"` (in the master,
    before any patching): it does not import gevent's patched modules nor the app."""
    from gevent.server import StreamServer
    from gunicorn.workers import ggevent

    class BalancedServer(StreamServer):
        _paused = None  # the timer of a pause in progress
        _waited = False  # this worker paused for the connection now waiting: it accepts it

        def _do_read(self):
            if self._waited or not self.pool:  # idle (no connection open), or it gave its siblings their chance
                self._waited = False
                return super()._do_read()
            self.stop_accepting()
            self._paused = self.loop.timer(ACCEPT_PAUSE)
            self._paused.start(self._resume)

        def _resume(self):
            self._paused.close()
            self._paused, self._waited = None, True
            if self.started:
                self.start_accepting()

    class BalancedGeventWorker(ggevent.GeventWorker):
        def run(self):
            ggevent.StreamServer = BalancedServer  # the name GeventWorker.run builds its servers with
            super().run()

    return BalancedGeventWorker


worker_class = worker_class_for(os.environ.get("DATABASE_URL"))
# gevent: connections one process holds at once. A phone's idle keep-alive connection holds its place too, so
# this must exceed the phones connected to a process at the same moment (with 200, the benchmark's 1,000 phones
# reconnecting in one second waited up to `keepalive` for a place: 32 s to drain instead of 3).
worker_connections = 2000
# sync (SQLite): gunicorn would run a sync worker with more than one thread as gthread, whose flaws the docstring
# names.
threads = 1
# gevent: seconds a phone's connection stays open between its outbox's batches (a sync worker closes each one)
keepalive = 30
backlog = 2048  # the reconnect storm: 1,000 phones within a minute
timeout = 120
graceful_timeout = 20


def post_worker_init(worker):
    """The app is loaded in this worker: refuse to serve from a gevent worker whose database waits would block the
    whole process, then freeze what the app's start created out of the garbage collector's sight."""
    _refuse_blocking_waits(worker)
    # The loaded app is some 150,000 objects that live as long as the process. Each full collection walked them
    # all again — 90 ms every fifty pushes of 100 here, a tenth of their CPU; frozen, a collection walks only
    # what requests have left behind (BENCHMARKS.md, the eleventh session).
    gc.freeze()


def _refuse_blocking_waits(worker):
    if not any(cls.__module__.endswith(".ggevent") for cls in type(worker).__mro__):  # GUNICORN_CMD_ARGS may override
        return
    import gevent.monkey
    import psycopg.waiting
    blocking_wait = getattr(psycopg.waiting, "wait_c", None)  # psycopg's C wait: blocks the OS thread
    if not gevent.monkey.is_module_patched("select") or psycopg.waiting.wait is blocking_wait:
        worker.log.critical("gevent worker without cooperative database waits (psycopg was imported before "
                            "gevent patched the standard library?); refusing to serve")
        raise SystemExit(4)
