"""Customer.io's Track API, as far as the connector uses it: the rules, apart from transport and storage.

Basic auth against one workspace's credentials (401 otherwise); `PUT /api/v1/customers/{id}`
merges attributes into a person, and `_update: true` never creates one; `POST
/api/v1/customers/{id}/events` records an event; `GET /v1/api/info/ip_addresses` on the API
host answers the credential check. The documented limits are enforced with 400 answers in
Customer.io's `{"meta": {"error": ...}}` shape.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

API_HOST = "api.customer.io"
TRACK_HOSTS = ("track.customer.io", "track-eu.customer.io")
HOSTS = (*TRACK_HOSTS, API_HOST)
CUSTOMER = re.compile(r"^/api/v1/customers/([^/]+)$")
CUSTOMER_EVENTS = re.compile(r"^/api/v1/customers/([^/]+)/events$")

MAX_ID_BYTES = 150
MAX_ATTRIBUTE_NAME_BYTES = 150
MAX_ATTRIBUTE_VALUE_BYTES = 1000
MAX_ATTRIBUTES = 300
MAX_EVENT_NAME_BYTES = 100
MAX_EVENT_DATA_BYTES = 100 * 1024


class Store(Protocol):
    def person(self, customer_id: str) -> dict[str, Any] | None: ...

    def save_person(self, customer_id: str, attributes: dict[str, Any]) -> None: ...

    def add_event(self, customer_id: str, event: dict[str, Any]) -> None: ...


@dataclass
class MemoryStore:
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def person(self, customer_id: str) -> dict[str, Any] | None:
        return self.people.get(customer_id)

    def save_person(self, customer_id: str, attributes: dict[str, Any]) -> None:
        self.people[customer_id] = attributes

    def add_event(self, customer_id: str, event: dict[str, Any]) -> None:
        self.events.setdefault(customer_id, []).append(event)


class SQLiteStore:
    """People and events in a SQLite file, so `cio-plugin inspect` can read them after a run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the process being killed (not a power cut), without an fsync each.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS people (id TEXT PRIMARY KEY, attributes TEXT NOT NULL, "
                         "updated_at REAL NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "customer_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT, timestamp REAL, "
                         "data TEXT NOT NULL, received_at REAL NOT NULL)")

    def person(self, customer_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT attributes FROM people WHERE id = ?", (customer_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_person(self, customer_id: str, attributes: dict[str, Any]) -> None:
        self._db.execute("INSERT INTO people (id, attributes, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) "
                         "DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at",
                         (customer_id, json.dumps(attributes, ensure_ascii=False), time.time()))

    def add_event(self, customer_id: str, event: dict[str, Any]) -> None:
        timestamp = event.get("timestamp")
        self._db.execute(
            "INSERT INTO events (customer_id, name, type, timestamp, data, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (customer_id, event["name"], event.get("type"), timestamp if isinstance(timestamp, int | float) else None,
             json.dumps(event.get("data", {}), ensure_ascii=False), time.time()),
        )

    def people(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self._db.execute("SELECT id, attributes FROM people ORDER BY id")
        return [(row[0], json.loads(row[1])) for row in rows]

    def events(self, customer_id: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT customer_id, name, type, timestamp, data FROM events"
        rows = self._db.execute(query + (" WHERE customer_id = ? ORDER BY seq" if customer_id else " ORDER BY seq"),
                                (customer_id,) if customer_id else ())
        return [{"customer_id": r[0], "name": r[1], "type": r[2], "timestamp": r[3], "data": json.loads(r[4])}
                for r in rows]

    def close(self) -> None:
        self._db.close()


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def text(self) -> str:
        return json.dumps(self.body)


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"meta": {"error": message}})


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


@dataclass
class TrackApi:
    store: Store
    site_id: str
    api_key: str

    def authorization(self) -> str:
        return "Basic " + base64.b64encode(f"{self.site_id}:{self.api_key}".encode()).decode("ascii")

    def handle(self, method: str, host: str, raw_path: str, authorization: str | None, body: bytes) -> Answer:
        """One request. `raw_path` is still percent-encoded (ids are decoded here)."""
        path = raw_path.split("?", 1)[0]
        if authorization != self.authorization():
            return _error(401, "Unauthorized request")
        if host == API_HOST:
            if method == "GET" and path == "/v1/api/info/ip_addresses":
                return Answer(200, {"ip_addresses": ["34.29.50.4", "35.188.196.183"]})
            return _error(404, "not found")
        customer, events = CUSTOMER.match(path), CUSTOMER_EVENTS.match(path)
        if not (customer or events):
            return _error(404, "not found")
        if (method, bool(customer)) not in (("PUT", True), ("POST", False)):
            return _error(405, "method not allowed")
        customer_id = unquote((customer or events).group(1))
        if not customer_id.strip():
            return _error(400, "customer id is required")
        if _bytes(customer_id) > MAX_ID_BYTES:
            return _error(400, f"customer id is longer than {MAX_ID_BYTES} bytes")
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return _error(400, "the request body is not valid JSON")
        if not isinstance(payload, dict):
            return _error(400, "the request body must be a JSON object")
        return self._identify(customer_id, payload) if customer else self._track(customer_id, payload, len(body))

    def _identify(self, customer_id: str, attributes: dict[str, Any]) -> Answer:
        update_only = attributes.pop("_update", False) is True
        for name, value in attributes.items():
            if _bytes(name) > MAX_ATTRIBUTE_NAME_BYTES:
                return _error(400, f"attribute name {name[:40]!r}… is longer than {MAX_ATTRIBUTE_NAME_BYTES} bytes")
            text = value if isinstance(value, str) else json.dumps(value)
            if _bytes(text) > MAX_ATTRIBUTE_VALUE_BYTES:
                return _error(400, f"attribute {name!r} has a value longer than {MAX_ATTRIBUTE_VALUE_BYTES} bytes")
        existing = self.store.person(customer_id)
        if existing is None and update_only:
            return Answer(200, {})  # `_update: true` never creates a person
        merged = {**(existing or {}), **attributes}
        if len(merged) > MAX_ATTRIBUTES:
            return _error(400, f"a person can have at most {MAX_ATTRIBUTES} attributes")
        self.store.save_person(customer_id, merged)
        return Answer(200, {})

    def _track(self, customer_id: str, event: dict[str, Any], size: int) -> Answer:
        name = event.get("name")
        if not isinstance(name, str) or not name:
            return _error(400, "event name is required")
        if _bytes(name) > MAX_EVENT_NAME_BYTES:
            return _error(400, f"event name is longer than {MAX_EVENT_NAME_BYTES} bytes")
        if size > MAX_EVENT_DATA_BYTES:
            return _error(400, f"event data is larger than {MAX_EVENT_DATA_BYTES // 1024} KB")
        self.store.add_event(customer_id, event)
        return Answer(200, {})
