"""Console capture: each console call becomes a log entry, formatted as PostHog did.

Each argument is `String(arg)`, except arrays and plain objects, which are
JSON.stringify'd; arguments are joined with one space.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .. import js


class LogLevel(enum.IntEnum):
    DEBUG = 10
    LOG = 20
    INFO = 30
    WARN = 40
    ERROR = 50


class LogSource(enum.StrEnum):
    SYSTEM = "SYSTEM"
    PLUGIN = "PLUGIN"
    CONSOLE = "CONSOLE"


@dataclass
class LogEntry:
    timestamp_ms: float
    source: LogSource
    type: LogLevel
    message: str
    args: list[Any] = field(default_factory=list)

    @property
    def timestamp(self) -> str:
        """'YYYY-MM-DD HH:MM:SS.mmm' in UTC, as in posthog_pluginlogentry."""
        moment = datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{int(self.timestamp_ms % 1000):03d}"

    def to_dict(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "source": self.source.value, "type": self.type.name,
                "message": self.message}


def format_message(args: tuple[Any, ...] | list[Any]) -> str:
    parts = []
    for arg in args:
        text = js.to_string(arg)
        if text == "[object Object]" or isinstance(arg, list):
            serialized = js.json.stringify(arg)
            text = serialized if isinstance(serialized, str) else text
        parts.append(text)
    return " ".join(parts)


class Console:
    """The `console` a plugin writes to. Entries go to `sink`; `min_level` filters."""

    def __init__(
        self,
        now_ms: Callable[[], float],
        sink: Callable[[LogEntry], None] | None = None,
        min_level: LogLevel = LogLevel.DEBUG,
    ) -> None:
        self._now_ms = now_ms
        self.entries: list[LogEntry] = []
        self._sink = sink if sink is not None else self.entries.append
        self.min_level = min_level

    def write(self, source: LogSource, level: LogLevel, *args: Any) -> None:
        if level < self.min_level:
            return
        self._sink(LogEntry(self._now_ms(), source, level, format_message(args), list(args)))

    def debug(self, *args: Any) -> None:
        self.write(LogSource.CONSOLE, LogLevel.DEBUG, *args)

    def log(self, *args: Any) -> None:
        self.write(LogSource.CONSOLE, LogLevel.LOG, *args)

    def info(self, *args: Any) -> None:
        self.write(LogSource.CONSOLE, LogLevel.INFO, *args)

    def warn(self, *args: Any) -> None:
        self.write(LogSource.CONSOLE, LogLevel.WARN, *args)

    def error(self, *args: Any) -> None:
        self.write(LogSource.CONSOLE, LogLevel.ERROR, *args)
