"""Typed errors that every surface turns into a clear message (never a stack trace)."""

from __future__ import annotations


class PipelineSreError(Exception):
    """Base class; `code` is a stable machine-readable kind for clients."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class ConfigError(PipelineSreError):
    code = "config_error"


class InvalidInput(PipelineSreError):
    """A tool argument outside its allowed range or shape."""

    code = "invalid_input"


class UnknownEnvironment(PipelineSreError):
    code = "unknown_environment"

    def __init__(self, name: str, valid: list[str]) -> None:
        super().__init__(f"unknown environment {name!r}; valid environments: {', '.join(valid) or '(none)'}")


class NotFound(PipelineSreError):
    code = "not_found"


class BackendUnavailable(PipelineSreError):
    """The backend is down, unreachable, or answers with a server error after retries."""

    code = "backend_unavailable"


class BackendRefused(PipelineSreError):
    """The backend answered with a client error (auth, bad request) that retrying will not fix."""

    code = "backend_refused"


class BackendInvalidResponse(PipelineSreError):
    """The backend answered, but not in the shape of its API (wrong URL, a proxy page, another service)."""

    code = "backend_invalid_response"
