"""/metrics under gunicorn with several worker processes: with PROMETHEUS_MULTIPROC_DIR a scrape adds up the
counts of every process, so it answers the same whichever process serves it."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz_count(text):
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "hemvard_http_requests_total" and sample.labels["route"] == "/healthz")


def test_a_scrape_counts_the_requests_of_every_gunicorn_worker(tmp_path):
    counters = tmp_path / "prometheus"
    counters.mkdir()
    env = {**os.environ, "HEMVARD_INSTANCE": str(tmp_path / "instance"), "SECRET_KEY": "metrics",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'metrics.sqlite'}", "METRICS_TOKEN": "scrape",
           "PROMETHEUS_MULTIPROC_DIR": str(counters)}
    subprocess.run([sys.executable, "-m", "flask", "--app", "server", "init"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", "2",
                               "-b", f"127.0.0.1:{port}", "server:create_app()"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    http = requests.Session()
    http.trust_env = False
    base, sent = f"http://127.0.0.1:{port}", 0
    try:
        deadline = time.monotonic() + 60
        while True:  # ready: a worker has booted (a request sent before waits in the backlog and may time out)
            assert time.monotonic() < deadline, "gunicorn should have started"
            try:
                if http.get(base + "/metrics", headers={"Authorization": "Bearer scrape"}, timeout=30).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        # Until both worker processes have counted something (each keeps its own file), bounded.
        while len(list(counters.glob("counter_*.db"))) < 2 or sent < 20:
            assert time.monotonic() < deadline, "both gunicorn workers should have served a request"
            try:
                answer = http.get(base + "/healthz", headers={"Connection": "close"}, timeout=30)  # each anew
            except requests.ConnectionError:
                time.sleep(0.2)
                continue
            assert answer.status_code == 200
            sent += 1
        scrapes = [http.get(base + "/metrics", headers={"Authorization": "Bearer scrape"}, timeout=10)
                   for _ in range(4)]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert {s.status_code for s in scrapes} == {200}
    assert [healthz_count(s.text) for s in scrapes] == [sent] * 4
