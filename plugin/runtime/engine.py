"""Engines run a plugin's hooks. The host knows plugins only through these hook names,
so a Python plugin and the original JavaScript one are interchangeable."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import HostError, RetryError, TaskTimeoutError
from .fetch import CallRecord, FetchCall, current_call
from .meta import Meta

# PostHog's hook names and their Python spellings.
HOOKS = {
    "setupPlugin": "setup_plugin",
    "onEvent": "on_event",
    "teardownPlugin": "teardown_plugin",
    "runEveryMinute": "run_every_minute",
    "runEveryHour": "run_every_hour",
    "runEveryDay": "run_every_day",
}

TASK_TIMEOUT_SECONDS = 30.0


class Engine(Protocol):
    name: str

    def has_hook(self, hook: str) -> bool: ...

    async def call(self, hook: str, args: tuple[Any, ...], meta: Meta) -> Any: ...

    async def close(self) -> None: ...


class PythonEngine:
    """Runs a Python plugin: any object (a module, an instance) with the hook functions."""

    name = "python"

    def __init__(self, plugin: Any) -> None:
        self.plugin = plugin

    def _function(self, hook: str) -> Any:
        return getattr(self.plugin, HOOKS.get(hook, hook), None)

    def has_hook(self, hook: str) -> bool:
        return callable(self._function(hook))

    async def call(self, hook: str, args: tuple[Any, ...], meta: Meta) -> Any:
        result = self._function(hook)(*args, meta)
        return await result if inspect.isawaitable(result) else result

    async def close(self) -> None:
        """Nothing to release: the plugin object is ordinary Python."""


def load_python_plugin(reference: str | Path, **options: Any) -> PythonEngine:
    """Load a Python plugin from a module name or a `.py` path.

    A module that defines `create_plugin(**options)` is asked for its plugin object
    (that is how options such as the Customer.io port's `compat` get in); otherwise the
    module itself is the plugin.
    """
    text = str(reference)
    if text.endswith(".py") or "/" in text:
        path = Path(text).resolve()
        if not path.is_file():
            raise HostError(f"plugin file not found: {path}")
        module = _module_for_path(path)
    else:
        try:
            module = importlib.import_module(text)
        except ImportError as error:
            raise HostError(f"cannot import plugin module {text!r}: {error}") from error
    factory = getattr(module, "create_plugin", None)
    if callable(factory):
        return PythonEngine(factory(**options))
    if options:
        raise HostError(f"plugin {text!r} takes no options (it has no create_plugin), got {sorted(options)}")
    return PythonEngine(module)


def _module_for_path(path: Path) -> Any:
    # A file inside an importable package is imported under its package name, so its
    # relative imports work and it is the same module as `import plugin.x`.
    for entry in map(Path, sys.path or ["."]):
        try:
            relative = path.relative_to((entry if str(entry) else Path(".")).resolve())
        except ValueError:
            continue
        name = ".".join(relative.with_suffix("").parts)
        if all(part.isidentifier() for part in relative.with_suffix("").parts):
            try:
                return importlib.import_module(name)
            except ImportError:
                continue
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise HostError(f"cannot load plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class CallResult:
    """How one hook call ended, and the HTTP calls it made."""

    ok: bool
    value: Any = None
    error: BaseException | None = None
    calls: list[FetchCall] = field(default_factory=list)

    @property
    def retryable(self) -> bool:
        return isinstance(self.error, RetryError)


async def invoke(
    engine: Engine, hook: str, args: tuple[Any, ...], meta: Meta, *, timeout: float = TASK_TIMEOUT_SECONDS
) -> CallResult:
    """Run one hook call under the task timeout; never raises for the plugin's errors."""
    record = CallRecord()
    token = current_call.set(record)
    deadline = asyncio.timeout(timeout)  # in this task: no extra task per call, as wait_for would make
    try:
        async with deadline:
            value = await engine.call(hook, args, meta)
        return CallResult(True, value, calls=record.calls)
    except TimeoutError as error:
        if not deadline.expired():  # the plugin's own TimeoutError
            return CallResult(False, error=error, calls=record.calls)
        late = TaskTimeoutError(f"Script execution timed out after promise waited for {timeout:g} seconds")
        return CallResult(False, error=late, calls=record.calls)
    except Exception as error:  # the plugin's failure is data, not a crash of the host
        return CallResult(False, error=error, calls=record.calls)
    finally:
        current_call.reset(token)
