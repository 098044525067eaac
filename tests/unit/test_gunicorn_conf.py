"""gunicorn.conf.py's worker hook, run as gunicorn runs it once a worker has loaded the app."""
import gc
import importlib.util
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


@pytest.fixture
def conf(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)  # SQLite: the sync worker, nothing of gevent imported
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class SyncWorker:  # what post_worker_init is handed on SQLite (its class is not gevent's)
    log = None


def test_a_worker_freezes_what_the_loaded_app_created_out_of_the_collectors_sight(conf):
    loaded_app = [[i] for i in range(1000)]  # objects that live as long as the process
    gc.unfreeze()
    try:
        assert any(o is loaded_app for o in gc.get_objects())
        conf.post_worker_init(SyncWorker())
        assert gc.get_freeze_count() > len(loaded_app)
        assert not any(o is loaded_app for o in gc.get_objects())  # no collection walks them again
        # what requests leave behind afterwards is still collected
        garbage = [[i] for i in range(100)]
        garbage.append(garbage)  # a cycle: only the collector frees it
        del garbage
        assert gc.collect() >= 101
    finally:
        gc.unfreeze()


def test_sqlite_is_served_by_sync_workers_with_no_threads(conf):
    assert conf.worker_class_for("sqlite:////var/lib/hemvard/hemvard.sqlite") == "sync"
    assert conf.threads == 1  # with more, gunicorn would run the sync worker as gthread
