"""meta.cache: Redis semantics in memory, keyed like the plugin-server's
`@plugin/<plugin_id>/<team_id>/<key>`, with expiry read from the host's clock."""

from __future__ import annotations

from typing import Any

from .. import js
from .clock import Clock, SystemClock

MAX_LPUSH_ELEMENTS = 1000


class CacheError(js.JSError):
    pass


class Cache:
    def __init__(self, plugin_id: int = 1, team_id: int | None = None, clock: Clock | None = None) -> None:
        self.prefix = f"@plugin/{plugin_id}/{team_id if team_id is not None else '@all'}/"
        self.clock = clock or SystemClock()
        self._values: dict[str, Any] = {}
        self._expires: dict[str, float] = {}

    def _key(self, key: str) -> str:
        full = self.prefix + js.to_string(key)
        deadline = self._expires.get(full)
        if deadline is not None and self.clock.now_ms() >= deadline:
            self._values.pop(full, None)
            self._expires.pop(full, None)
        return full

    async def set(self, key: str, value: Any, ttl_seconds: float | None = None, *, json_serialize: bool = True) -> None:
        full = self._key(key)
        self._values[full] = js.json.stringify(value) if json_serialize else js.to_string(value)
        self._expires.pop(full, None)
        if ttl_seconds:
            self._expires[full] = self.clock.now_ms() + ttl_seconds * 1000

    async def get(self, key: str, default: Any = None, *, json_serialize: bool = True) -> Any:
        full = self._key(key)
        if full not in self._values:
            return default
        value = self._values[full]
        if not isinstance(value, str):
            raise CacheError("WRONGTYPE Operation against a key holding the wrong kind of value")
        if not value:
            return None
        if not json_serialize:
            return value
        try:
            return js.json.parse(value)
        except js.JSSyntaxError:
            return None  # the plugin-server swallows parse errors

    async def incr(self, key: str) -> int:
        full = self._key(key)
        current = self._values.get(full, "0")
        try:
            number = int(current)
        except (TypeError, ValueError):
            raise CacheError("ERR value is not an integer or out of range") from None
        self._values[full] = str(number + 1)
        return number + 1

    async def expire(self, key: str, ttl_seconds: float) -> bool:
        full = self._key(key)
        if full not in self._values:
            return False
        self._expires[full] = self.clock.now_ms() + ttl_seconds * 1000
        return True

    def _list(self, key: str, create: bool = False) -> list[str] | None:
        full = self._key(key)
        value = self._values.get(full)
        if value is None:
            if not create:
                return None
            value = self._values[full] = []
        if not isinstance(value, list):
            raise CacheError("WRONGTYPE Operation against a key holding the wrong kind of value")
        return value

    async def lpush(self, key: str, elements: Any) -> int:
        items = elements if isinstance(elements, list) else [elements]
        if len(items) > MAX_LPUSH_ELEMENTS:
            raise CacheError(f"Too many elements to lpush: {len(items)} (the limit is {MAX_LPUSH_ELEMENTS})")
        values = self._list(key, create=True)
        assert values is not None
        for item in items:
            values.insert(0, js.to_string(item))
        return len(values)

    async def lrange(self, key: str, start: int, end: int) -> list[str]:
        _require_numbers("lrange", start, end)
        values = self._list(key) or []
        n = len(values)
        start = max(start + n, 0) if start < 0 else start
        end = end + n if end < 0 else min(end, n - 1)
        return values[start : end + 1] if start <= end else []

    async def llen(self, key: str) -> int:
        return len(self._list(key) or [])

    async def lrem(self, key: str, count: int, element: Any) -> int:
        _require_numbers("lrem", count)
        values = self._list(key)
        if not values:
            return 0
        target, removed = js.to_string(element), 0
        indices = range(len(values)) if count >= 0 else range(len(values) - 1, -1, -1)
        keep = [True] * len(values)
        for i in indices:
            if values[i] == target and (count == 0 or removed < abs(count)):
                keep[i] = False
                removed += 1
        values[:] = [v for v, k in zip(values, keep, strict=True) if k]
        return removed

    async def lpop(self, key: str, count: int = 1) -> list[str]:
        _require_numbers("lpop", count)
        values = self._list(key)
        if not values:
            return []
        popped, values[:] = values[:count], values[count:]
        return popped


def _require_numbers(operation: str, *values: Any) -> None:
    for value in values:
        if not js.is_number(value):
            raise CacheError(f"cache.{operation} takes numbers, got {js.typeof(value)} {js.to_string(value)!r}")
