"""What the JavaScript engine raises: load problems for the user, plugin errors for the host."""

from __future__ import annotations

from ..js import JSError
from ..runtime.errors import HostError, RetryError


class PluginLoadError(HostError):
    """The plugin could not be loaded: missing file, bad archive, syntax error, bad import."""


class PluginError(JSError):
    """An error a JavaScript plugin threw, with its JavaScript name and stack."""

    def __init__(self, name: str, message: str, stack: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.stack = stack


class PluginRetryError(RetryError):
    """A RetryError thrown by a JavaScript plugin (the host retries it like the port's)."""

    def __init__(self, message: str, stack: str = "") -> None:
        super().__init__(message)
        self.stack = stack


class MemoryLimitError(JSError):
    """The plugin went over the isolate's memory limit; V8 stopped it."""

    name = "MemoryLimitError"


def from_js(info: dict[str, object]) -> JSError:
    """The Python exception for an error description sent by sandbox.js."""
    message, stack = str(info.get("message", "")), str(info.get("stack", ""))
    if info.get("retry"):
        return PluginRetryError(message, stack)
    return PluginError(str(info.get("name", "Error")), message, stack)
