"""The lifecycle host: lazy setupPlugin and onEvent under a retry policy.

setupPlugin follows the plugin-server of mid-2022 to 2024 (`worker/vm/lazy.ts`): it
runs on the first event; a RetryError is retried in the background up to 5 attempts,
5 s x 2^(n-1) apart, and meanwhile events still run (a plugin must guard for that, as
Customer.io's does); any other error, or the 5th RetryError, disables the plugin and
later events are skipped with a log line.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from .console import LogLevel, LogSource
from .engine import TASK_TIMEOUT_SECONDS, Engine, invoke
from .errors import RetryError, error_message, error_name
from .fetch import FetchCall
from .meta import Meta
from .retry import RetryPolicy, retry_policy

SETUP_MAX_ATTEMPTS = 5
SETUP_BASE_DELAY_SECONDS = 5.0


@dataclass
class EventOutcome:
    """How one event ended: `ok`, `failed` (after `attempts`), or `skipped` (plugin disabled)."""

    status: str
    attempts: int = 0
    error: BaseException | None = None
    calls: list[FetchCall] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class PluginHost:
    def __init__(
        self,
        engine: Engine,
        meta: Meta,
        *,
        retry: RetryPolicy | str = "reliable",
        task_timeout: float = TASK_TIMEOUT_SECONDS,
        setup_max_attempts: int = SETUP_MAX_ATTEMPTS,
        setup_base_delay: float = SETUP_BASE_DELAY_SECONDS,
    ) -> None:
        self.engine = engine
        self.meta = meta
        self.retry = retry_policy(retry) if isinstance(retry, str) else retry
        self.task_timeout = task_timeout
        self.setup_max_attempts = setup_max_attempts
        self.setup_base_delay = setup_base_delay
        self.instance_id = str(uuid.uuid4())
        self.ready = not engine.has_hook("setupPlugin")
        self.disabled = False
        self.setup_attempts = 0
        self.setup_error: BaseException | None = None
        self._setup_lock = asyncio.Lock()
        self._scheduled: asyncio.Task[None] | None = None

    def _system(self, level: LogLevel, message: str) -> None:
        self.meta.console.write(LogSource.SYSTEM, level, message)

    async def setup(self) -> bool:
        """One setupPlugin attempt (if still needed). False once the plugin is disabled."""
        async with self._setup_lock:
            if self.ready or self.disabled:
                return self.ready
            self.setup_attempts += 1
            n = self.setup_attempts
            result = await invoke(self.engine, "setupPlugin", (), self.meta, timeout=self.task_timeout)
            if result.ok:
                self.ready = True
                self._system(LogLevel.LOG, f"setupPlugin succeeded (instance ID {self.instance_id}).")
                return True
            error = result.error
            assert error is not None
            self.setup_error = error
            if isinstance(error, RetryError) and n < self.setup_max_attempts:
                delay = self.setup_base_delay * 2 ** (n - 1)
                self._system(
                    LogLevel.ERROR,
                    f"setupPlugin failed with RetryError (attempt {n}/{self.setup_max_attempts}): "
                    f"{error_message(error)} (instance ID {self.instance_id}). Retrying in {delay:g} s...",
                )
                self._schedule_setup(delay)
                return True  # as in PostHog, the method is still handed out
            self.disabled = True
            self._system(
                LogLevel.ERROR,
                f"setupPlugin failed with {error_name(error)}: {error_message(error)} "
                f"(instance ID {self.instance_id}). Disabled the app!",
            )
            return False

    def _schedule_setup(self, delay: float) -> None:
        if self._scheduled is not None and not self._scheduled.done():
            return

        async def retry_later() -> None:
            await self.meta.clock.sleep(delay)
            await self.setup()

        self._scheduled = asyncio.ensure_future(retry_later())

    async def on_event(self, event: dict[str, Any]) -> EventOutcome:
        if not self.ready and not await self.setup():
            self._system(LogLevel.WARN, f"Skipped event {event.get('uuid', '')}: the app is disabled "
                         "because setupPlugin failed.")
            return EventOutcome("skipped", error=self.setup_error)
        if not self.engine.has_hook("onEvent"):
            return EventOutcome("ok")
        calls: list[FetchCall] = []
        attempt = 0
        while True:
            attempt += 1
            # Each attempt gets the event as delivered: plugins may mutate what they get.
            result = await invoke(self.engine, "onEvent", (copy_event(event),), self.meta,
                                  timeout=self.task_timeout)
            calls.extend(result.calls)
            if result.ok:
                return EventOutcome("ok", attempt, calls=calls)
            error = result.error
            assert error is not None
            delay = self.retry.delay(attempt, error, result.calls)
            if delay is None:
                self.meta.console.write(LogSource.PLUGIN, LogLevel.ERROR,
                                        f"{error_name(error)}: {error_message(error)}")
                return EventOutcome("failed", attempt, error, calls)
            self._system(
                LogLevel.WARN,
                f"onEvent failed with {error_name(error)} (attempt {attempt}/{self.retry.max_attempts}): "
                f"{error_message(error)}. Retrying in {delay:.3g} s...",
            )
            await self.meta.clock.sleep(delay)

    async def close(self) -> None:
        """Stop pending setup retries and run teardownPlugin if setup succeeded."""
        if self._scheduled is not None:
            self._scheduled.cancel()
        if self.ready and self.engine.has_hook("teardownPlugin"):
            await invoke(self.engine, "teardownPlugin", (), self.meta, timeout=self.task_timeout)


def copy_event(value: Any) -> Any:
    """A deep copy of a JSON-shaped event, several times faster than copy.deepcopy on one."""
    if isinstance(value, dict):
        return {key: copy_event(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_event(item) for item in value]
    if value is None or isinstance(value, (str, int, float)):  # immutable (bool is an int)
        return value
    return copy.deepcopy(value)
