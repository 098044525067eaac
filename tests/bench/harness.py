"""What every benchmark needs: free ports, a dedicated PostgreSQL database (made and dropped), a migrated
instance, the real server under gunicorn as its own process, and latency statistics."""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A benchmark stopped with SIGTERM (the runner's timeout, a kill by hand) still drops its databases and
# stops its servers: turn the signal into SystemExit so every `finally` runs.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    """Nearest-rank percentile; enough for latency figures."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SCHEDSTAT = Path("/proc/self/schedstat").exists()


def cpu_seconds(pids):
    """CPU seconds used so far by these processes, every live thread of each (Linux /proc: the scheduler's
    nanoseconds where the kernel keeps them, else user + system in clock ticks of 10 ms, too coarse for a
    database backend's share of a short run); gone processes and threads count 0."""
    total = 0.0
    for pid in pids:
        if SCHEDSTAT:
            try:
                tasks = list(Path(f"/proc/{pid}/task").iterdir())
            except OSError:
                continue
            for task in tasks:
                try:
                    total += int((task / "schedstat").read_text().split()[0]) / 1e9
                except (OSError, ValueError, IndexError):
                    pass
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return total


def python_speed(seconds=1.0):
    """µs this machine's Python takes for a fixed loop (`sum(range(1000))`), the median of repeated timings over
    `seconds`: a yardstick for comparing runs on different machines (machines of the same kind have differed by
    a factor of three, and the ratio to the floor moves with it)."""
    timings, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        for _ in range(100):
            sum(range(1000))
        timings.append((time.perf_counter() - t0) / 100 * 1e6)
    return sorted(timings)[len(timings) // 2]


def machine_cpu():
    """(all, idle) clock ticks of every core so far (/proc/stat): the share of the cores a run left idle."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # idle + iowait


def children(pid):
    """Direct child processes (gunicorn's workers, node's helpers)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            out.extend(int(x) for x in task.read_text().split())
        except OSError:
            pass
    return out


def postgres_backends(url):
    """The server processes serving connections to this benchmark's database (for their CPU time)."""
    import psycopg
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_libpq(PG_ADMIN_URL), autocommit=True) as conn:
        return [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]


PG_PROBLEM = []  # why the last pg_available() said no


def pg_available(attempts=5):
    """Can we reach the PostgreSQL server? Retried: a busy shared server may be briefly out of connections."""
    import psycopg
    for attempt in range(attempts):
        try:
            with psycopg.connect(_libpq(PG_ADMIN_URL), connect_timeout=10):
                return True
        except Exception as exc:  # any reason at all means "not now"; the last one is reported
            PG_PROBLEM[:] = [f"{type(exc).__name__}: {str(exc).strip()[:200]}"]
            time.sleep(2 + 2 * attempt)
    return False


def _libpq(url):
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def postgres_database(prefix="hv_bench"):
    """A fresh, empty PostgreSQL database for one benchmark, dropped afterwards (even on failure)."""
    import psycopg
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(_libpq(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(_libpq(PG_ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def instance(database_url=None):
    """A temporary instance folder (secrets, outbox key, SQLite file) and the environment that points at it."""
    folder = tempfile.mkdtemp(prefix="hv_bench_")
    env = dict(os.environ)
    env.update({"HEMVARD_INSTANCE": folder, "SECRET_KEY": secrets.token_urlsafe(32), "FLASK_APP": "server",
                "DATABASE_URL": database_url or f"sqlite:///{folder}/bench.sqlite", "PYTHONPATH": str(REPO)})
    try:
        yield env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def migrate(env):
    subprocess.run([str(BIN / "flask"), "--app", "server", "init"], env=env, cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)


@contextmanager
def app_context(env):
    """The application in this process, on the benchmark's database (for seeding and issuing tokens)."""
    saved = {k: os.environ.get(k) for k in ("HEMVARD_INSTANCE", "SECRET_KEY", "DATABASE_URL")}
    os.environ.update({k: env[k] for k in saved})
    try:
        from server import create_app
        from server.extensions import db
        app = create_app()
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def wait_http(url, timeout=30, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


# gunicorn as it would run in production on this machine: two processes (one per core), with the project's
# gunicorn.conf.py (gthread workers on PostgreSQL, sync workers on SQLite).
# For an experiment, gunicorn's own GUNICORN_CMD_ARGS overrides it (e.g. "--worker-class gthread --threads 2").
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
GUNICORN_CONF = REPO / "gunicorn.conf.py"


SERVER_LOG = REPO / "tests" / "bench" / "results" / "server.log"  # every bench server's stderr, appended


@contextmanager
def gunicorn(env, workers=GUNICORN_WORKERS, log=None, tree=REPO):
    """The app under gunicorn on a free port; its log goes to SERVER_LOG and its errors are counted. `tree`: a
    checkout whose code and gunicorn.conf.py to serve."""
    port = free_port()
    log = log or SERVER_LOG
    Path(log).parent.mkdir(exist_ok=True)
    start = Path(log).stat().st_size if Path(log).exists() else 0
    cmd = [str(BIN / "gunicorn"), "--config", str(Path(tree) / GUNICORN_CONF.name), "--workers", str(workers),
           "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "server:create_app()"]
    out = open(log, "ab")
    proc = subprocess.Popen(cmd, env=dict(env, PYTHONPATH=str(tree)), cwd=tree, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/api/sync/outbox-key", timeout=180, proc=proc)  # a busy machine starts slowly
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
        with open(log, "rb") as fh:
            fh.seek(start)
            errors = sum(1 for line in fh if b"ERROR in app" in line or b"[ERROR]" in line)
        if errors:
            print(f"  server log: {errors} error entries from this server in {log}", flush=True)
