"""Errors a plugin and its host exchange.

Plugins signal "try again later" with RetryError, as in @posthog/plugin-scaffold; any
other exception is a failure. Host-side problems (bad manifest, bad config) are
RuntimeHostError subclasses with messages that say what to fix.
"""

from __future__ import annotations

from ..js import JSError


class RetryError(JSError):
    """Raised by a plugin for a failure that may pass: the host may run the call again."""

    name = "RetryError"

    def __init__(self, message: str = "", *, attempt: int | None = None, max_attempts: int | None = None) -> None:
        super().__init__(message)
        self.attempt = attempt
        self.max_attempts = max_attempts

    def __str__(self) -> str:
        if self.attempt is not None and self.max_attempts is not None:
            return f"RetryError (attempt {self.attempt}/{self.max_attempts}): {self.message}"
        return super().__str__()


class TaskTimeoutError(RetryError):
    """A plugin call ran past the task timeout. Retryable, as in late plugin-server versions."""

    name = "TimeoutError"


class StorageError(JSError):
    """A storage operation the backing table refuses (Postgres' wording)."""


class HostError(Exception):
    """A problem with how a plugin is hosted: manifest, config, loading."""


class ManifestError(HostError):
    pass


class ConfigError(HostError):
    pass


def error_name(error: BaseException) -> str:
    """The JavaScript-style name of an error: `RetryError`, `TypeError`, ..."""
    return getattr(error, "name", None) or type(error).__name__


def error_message(error: BaseException) -> str:
    return getattr(error, "message", None) if isinstance(error, JSError) else str(error)
