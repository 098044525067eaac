"""gunicorn.conf.py chooses gunicorn's own worker class by the database."""
import importlib.util
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def _load(monkeypatch, database_url):
    if database_url:
        monkeypatch.setenv("DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("url", [None, "sqlite:////var/lib/hemvard/hemvard.sqlite"])
def test_sqlite_is_served_by_sync_workers_one_request_at_a_time(monkeypatch, url):
    conf = _load(monkeypatch, url)
    assert conf.worker_class == "sync" and conf.threads == 1  # with more, gunicorn would run it as gthread


@pytest.mark.parametrize("url", ["postgresql://db/hemvard", "postgres://db/hemvard",
                                 "postgresql+psycopg://db/hemvard"])
def test_postgresql_is_served_by_stock_gthread_workers(monkeypatch, url):
    conf = _load(monkeypatch, url)
    assert conf.worker_class == "gthread" and conf.threads > 1
