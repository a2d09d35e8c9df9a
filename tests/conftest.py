"""Suite-wide settings: local time is UTC unless a test pins another zone."""

from __future__ import annotations

import os
import time

os.environ["TZ"] = "UTC"
time.tzset()


from collections.abc import AsyncIterator, Callable  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402

from plugin.runtime import Cache, Console, Fetch, FrozenClock, MemoryBackend, Meta, Storage  # noqa: E402

NOW_MS = 1_700_000_000_123
CONFIG = {"customerioSiteId": "site123", "customerioToken": "tok456"}
AUTH = "Basic c2l0ZTEyMzp0b2s0NTY="


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_meta(http_client: httpx.AsyncClient) -> Callable[..., Meta]:
    """A fresh `meta` on the real runtime: in-memory storage, frozen clock, captured logs."""

    def make(config: dict[str, Any] | None = None, storage: dict[str, Any] | None = None,
             now_ms: float = NOW_MS) -> Meta:
        clock = FrozenClock(now_ms)
        store = Storage(MemoryBackend())
        store.load(storage or {})
        return Meta(config=CONFIG if config is None else config, storage=store, cache=Cache(clock=clock),
                    console=Console(clock.now_ms), fetch=Fetch(http_client), clock=clock)

    return make
