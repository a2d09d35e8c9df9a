"""Reading event streams: JSONL files or stdin, one line at a time, into onEvent payloads.

A line is either an onEvent payload (as in the conformance scenarios) or a PostHog capture
payload (a single event, or `{"batch": [...]}`), normalised as the plugin-server does before
onEvent: distinct_id from the properties when needed, `$set`/`$set_once` shared with
`properties`, an ISO timestamp with milliseconds, `ip` null. A bad line becomes a `BadLine`
with its file, line number and reason; the lines after it still come.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from .js.dates import to_iso_string

DEFAULT_TEAM_ID = 1
Position = tuple[int, int]  # (byte offset, line number) just after a line
CAPTURE_ONLY_KEYS = ("api_key", "token", "batch", "sent_at")


@dataclass(frozen=True)
class Line:
    """Where an event came from: file, 1-based line number, and index within a batch."""

    source: str
    number: int
    offset: int  # byte offset of the line's end in its file: where a restart resumes
    index: int = 0


@dataclass(frozen=True)
class Event:
    line: Line
    payload: dict[str, Any]


@dataclass(frozen=True)
class BadLine:
    line: Line
    reason: str

    def __str__(self) -> str:
        return f"{self.line.source}:{self.line.number}: {self.reason}"


def read_lines(stream: IO[bytes], source: str, start: Position = (0, 0)) -> Iterator[tuple[Line, bytes]]:
    """The stream's lines after `start` (offset, lines already read), each with its position;
    memory stays flat whatever the input size."""
    offset, number = start
    for raw in stream:
        number += 1
        offset += len(raw)
        yield Line(source, number, offset), raw


def parse_line(line: Line, raw: bytes, *, now: datetime | None = None) -> Iterator[Event | BadLine]:
    """The events of one line (a capture batch has several), or why there are none."""
    text = raw.strip()
    if not text:
        return
    try:
        data = json.loads(text)
    except UnicodeDecodeError:
        yield BadLine(line, "not UTF-8 text")
        return
    except ValueError as error:
        yield BadLine(line, f"not valid JSON ({error})")
        return
    if not isinstance(data, dict):
        yield BadLine(line, f"an event must be a JSON object, got {type(data).__name__}")
        return
    items = data["batch"] if "batch" in data else [data]
    if not isinstance(items, list):
        yield BadLine(line, "'batch' must be a list of events")
        return
    for index, item in enumerate(items):
        where = Line(line.source, line.number, line.offset, index)
        try:
            yield Event(where, normalize(item, now=now, inherited=data if "batch" in data else {}))
        except ValueError as error:
            label = f"batch[{index}]: " if "batch" in data else ""
            yield BadLine(where, f"{label}{error}")


def normalize(item: Any, *, now: datetime | None = None, inherited: dict[str, Any] | None = None) -> dict[str, Any]:
    """An onEvent payload for one event, as the plugin-server hands it to plugins."""
    if not isinstance(item, dict):
        raise ValueError(f"an event must be a JSON object, got {type(item).__name__}")
    event = item.get("event")
    if not isinstance(event, str) or not event:
        raise ValueError("'event' must be a non-empty string")
    properties = item.get("properties", {})
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise ValueError("'properties' must be an object")
    properties = dict(properties)
    distinct_id = item.get("distinct_id", properties.get("distinct_id"))
    if distinct_id is None or distinct_id == "":
        raise ValueError("no distinct_id (neither at the top nor in properties)")
    if isinstance(distinct_id, (dict, list)):
        raise ValueError("distinct_id must be a string or a number")
    payload: dict[str, Any] = {
        "uuid": str(item.get("uuid") or uuid.uuid4()),
        "event": event,
        "distinct_id": distinct_id if isinstance(distinct_id, str) else json.dumps(distinct_id),
        "team_id": item.get("team_id", (inherited or {}).get("team_id", DEFAULT_TEAM_ID)),
        "ip": None,
        "timestamp": _timestamp(item.get("timestamp"), now),
        "properties": properties,
    }
    for key in ("$set", "$set_once"):
        merged = {**_object(properties.get(key), key), **_object(item.get(key), key)}
        if merged:
            properties[key] = merged
            payload[key] = merged
    return payload


def _object(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"'{key}' must be an object")
    return value


def _timestamp(value: Any, now: datetime | None) -> str:
    if value is None:
        return to_iso_string(now)
    if not isinstance(value, str):
        raise ValueError("'timestamp' must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'timestamp' is not an ISO 8601 date-time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_iso_string(moment)


def read_events(paths: Iterable[str], resume: dict[str, Position] | None = None) -> Iterator[Event | BadLine]:
    """Every event of every input ('-' is stdin), each file resumed at its checkpoint."""
    for path in paths:
        if path == "-":
            for line, raw in read_lines(sys.stdin.buffer, "<stdin>"):
                yield from parse_line(line, raw)
            continue
        start = (resume or {}).get(path, (0, 0))
        with open(path, "rb") as stream:
            stream.seek(start[0])
            for line, raw in read_lines(stream, path, start):
                yield from parse_line(line, raw)
