import pytest


@pytest.fixture
def worker(auth):
    """worker1, logged in, with the shift package pulled (`.package`). (A test module may define its own.)"""
    s = auth.login("worker1")
    s.package = s.pull()
    return s
