"""One JSON error shape for every failure, and the one place that maps domain errors to HTTP."""
from flask import g, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from sync.errors import DomainError, NotFound, OutOfScope, Conflict, InvalidInput


def error_body(status, code, message, errors=None, **extra):
    return {"code": code, "status": status, "message": message, "errors": errors or {}, **extra}


def error_response(status, code, message, errors=None, **extra):
    response = jsonify(error_body(status, code, message, errors, **extra))
    response.status_code = status
    return response


class ApiError(Exception):
    """Raised by the HTTP layer for answers that are not domain decisions (auth, limits)."""

    def __init__(self, status, code, message, errors=None, headers=None, **extra):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors, self.headers, self.extra = errors, headers or {}, extra


DOMAIN_STATUS = {NotFound: 404, OutOfScope: 403, Conflict: 409, InvalidInput: 422}


def _flatten(messages, prefix=""):
    """marshmallow nests messages by field and list index; clients want `events.3.type` keys."""
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(_flatten(value, name))
            else:
                flat[name] = value if isinstance(value, list) else [value]
    else:
        flat[prefix or "_schema"] = messages if isinstance(messages, list) else [messages]
    return flat


def keep_denials():
    """The one place a refused request's access-log rows are written (HSLF-FS 2016:40): nothing of the request
    is kept (rolled back), only the record of each refusal that `access_log.log_denied` noted."""
    from .access_log import log_access
    from .extensions import db
    denials = g.pop("denials", [])
    if denials:
        db.session.rollback()
        for denial in denials:
            log_access(outcome="denied", **denial)
        db.session.commit()


def init_app(app):
    @app.errorhandler(ApiError)
    def _api_error(err):
        keep_denials()
        response = error_response(err.status, err.code, err.message, err.errors, **err.extra)
        response.headers.update(err.headers)
        return response

    @app.errorhandler(ValidationError)
    def _validation_error(err):
        return error_response(422, "validation_error", "Ogiltiga uppgifter i begäran.", _flatten(err.messages))

    @app.errorhandler(DomainError)
    def _domain_error(err):
        status = next((s for cls, s in DOMAIN_STATUS.items() if isinstance(err, cls)), 400)
        if isinstance(err, OutOfScope) and g.get("user") is not None and not g.get("denials"):
            from .access_log import log_denied  # a refused reach into another unit, wherever it is raised
            log_denied(g.user, (request.view_args or {}).get("client_id"), f"{request.method} {request.path}",
                       detail=str(err)[:200])
        keep_denials()
        return error_response(status, err.code, str(err), getattr(err, "errors", None))

    @app.errorhandler(HTTPException)
    def _http_error(err):
        code = (err.name or "error").lower().replace(" ", "_")
        return error_response(err.code or 500, code, err.description or err.name)
