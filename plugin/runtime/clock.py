"""Time as a plugin sees it (`Date.now()`), and how the host waits between retries."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now_ms(self) -> float:
        return float(time.time_ns() // 1_000_000)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FrozenClock:
    """A clock that stands still; sleeping moves it forward instantly and is recorded."""

    def __init__(self, now_ms: float) -> None:
        self._now_ms = float(now_ms)
        self.sleeps: list[float] = []

    def now_ms(self) -> float:
        return self._now_ms

    def advance(self, seconds: float) -> None:
        self._now_ms += seconds * 1000

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
