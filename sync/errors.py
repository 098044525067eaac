"""Domain errors; the HTTP layer maps each kind to one status code."""


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message, code=None, errors=None):
        super().__init__(message)
        if code:
            self.code = code
        self.errors = errors


class NotFound(DomainError):
    code = "not_found"


class OutOfScope(DomainError):
    """The thing exists but belongs to another unit (or another worker's shift)."""
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    code = "invalid_input"
