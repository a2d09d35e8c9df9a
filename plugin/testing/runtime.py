"""A plugin on the real runtime, for tests: in-memory storage and cache, a frozen clock,
captured logs, and one call at a time with its outcome and HTTP calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ..runtime import Cache, Console, Fetch, FrozenClock, LogEntry, MemoryBackend, Meta, Storage
from ..runtime.engine import CallResult, Engine, invoke
from ..runtime.host import PluginHost
from ..runtime.retry import RetryPolicy

DEFAULT_NOW_MS = 1_714_557_600_000  # 2024-05-01T10:00:00Z


def make_meta(
    transport: httpx.AsyncBaseTransport,
    config: Mapping[str, Any] | None = None,
    *,
    storage: Mapping[str, Any] | None = None,
    attachments: Mapping[str, Any] | None = None,
    now_ms: float = DEFAULT_NOW_MS,
) -> Meta:
    """A fresh `meta`: storage seeded with `storage`, clock frozen at `now_ms`."""
    clock = FrozenClock(now_ms)
    store = Storage(MemoryBackend())
    store.load(dict(storage or {}))
    return Meta(config=dict(config or {}), storage=store, cache=Cache(clock=clock), console=Console(clock.now_ms),
                fetch=Fetch(transport), clock=clock, attachments=dict(attachments or {}))


class PluginRuntime:
    """One plugin instance (either engine) and its `meta`."""

    def __init__(self, engine: Engine, meta: Meta) -> None:
        self.engine = engine
        self.meta = meta

    async def setup(self) -> CallResult:
        """setupPlugin, once, like a replay (no retries): see `host()` for PostHog's lifecycle."""
        return await self.run("setupPlugin")

    async def on_event(self, event: dict[str, Any]) -> CallResult:
        """One onEvent attempt; the result says ok, the error (and whether it is a retry)."""
        return await self.run("onEvent", event)

    async def run(self, hook: str, *args: Any) -> CallResult:
        """Any hook by its PostHog name, e.g. `runEveryMinute` for a scheduled method."""
        if not self.engine.has_hook(hook):
            raise AttributeError(f"the plugin has no {hook}")
        return await invoke(self.engine, hook, args, self.meta)

    def host(self, retry: RetryPolicy | str = "reliable", **options: Any) -> PluginHost:
        """PostHog's lifecycle around this plugin: lazy setup, retries on the frozen clock."""
        return PluginHost(self.engine, self.meta, retry=retry, **options)

    @property
    def storage(self) -> dict[str, Any]:
        """Everything in storage now, as JSON values."""
        return self.meta.storage.snapshot()

    @property
    def cache(self) -> Cache:
        return self.meta.cache

    @property
    def logs(self) -> list[str]:
        """Console messages, in order."""
        return [entry.message for entry in self.meta.console.entries]

    @property
    def log_entries(self) -> list[LogEntry]:
        return list(self.meta.console.entries)

    def advance(self, seconds: float) -> None:
        """Move the frozen clock (TTLs, Date.now)."""
        assert isinstance(self.meta.clock, FrozenClock)
        self.meta.clock.advance(seconds)

    async def close(self) -> None:
        await self.engine.close()
