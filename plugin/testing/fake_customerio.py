"""A fake Customer.io Track API, answering the runtime's fetch through pytest-httpx.

The API rules are the emulator's (plugin/emulator/track_api.py), on an in-memory store: people
(attributes merged by identify; `_update: true` never creates one), their events, Basic auth
against the fake's credentials, Customer.io's limits. It can also be told to fail the next N
calls (status, body, Retry-After, or a network error).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..emulator.track_api import HOSTS as API_HOSTS
from ..emulator.track_api import MemoryStore, TrackApi

# Every URL on the hosts the emulator serves, for pytest-httpx to send here.
HOSTS = re.compile(rf"^https://({'|'.join(map(re.escape, API_HOSTS))})(/.*)?$")


@dataclass
class TrackRequest:
    """One request that reached the fake, as Customer.io would see it."""

    method: str
    host: str
    path: str
    json: Any
    status: int = 0


@dataclass
class Failure:
    status: int = 500
    body: str = '{"meta":{"error":"internal error"}}'
    retry_after: float | None = None
    network_error: str | None = None


@dataclass
class FakeCustomerIo:
    site_id: str = "site-id"
    api_key: str = "api-key"
    requests: list[TrackRequest] = field(default_factory=list)
    _store: MemoryStore = field(default_factory=MemoryStore)
    _failures: list[Failure] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api = TrackApi(self._store, self.site_id, self.api_key)

    @property
    def config(self) -> dict[str, str]:
        """The plugin config keys for these credentials."""
        return {"customerioSiteId": self.site_id, "customerioToken": self.api_key}

    # ---- scripting ------------------------------------------------------------------
    def fail_next(self, count: int = 1, *, status: int = 500, body: str = '{"meta":{"error":"internal error"}}',
                  retry_after: float | None = None, network_error: str | None = None) -> None:
        """The next `count` requests fail this way (a network error if `network_error` is set)."""
        self._failures += [Failure(status, body, retry_after, network_error) for _ in range(count)]

    # ---- what happened ---------------------------------------------------------------
    @property
    def people(self) -> dict[str, dict[str, Any]]:
        return self._store.people

    @property
    def events(self) -> dict[str, list[dict[str, Any]]]:
        return self._store.events

    def person(self, customer_id: str) -> dict[str, Any] | None:
        return self._store.person(customer_id)

    def events_for(self, customer_id: str) -> list[dict[str, Any]]:
        return self._store.events.get(customer_id, [])

    def event_names(self, customer_id: str) -> list[str]:
        return [event["name"] for event in self.events_for(customer_id)]

    # ---- the API ---------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.decode("ascii")
        try:
            parsed = json.loads(request.content) if request.content else None
        except ValueError:
            parsed = request.content.decode("utf-8", "replace")
        record = TrackRequest(request.method, request.url.host, raw_path.split("?")[0], parsed)
        self.requests.append(record)
        if self._failures:
            failure = self._failures.pop(0)
            if failure.network_error is not None:
                raise httpx.ConnectError(failure.network_error, request=request)
            headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
            record.status = failure.status
            return httpx.Response(failure.status, text=failure.body, headers=headers)
        answer = self.api.handle(request.method, request.url.host, raw_path, request.headers.get("Authorization"),
                                 request.content)
        record.status = answer.status
        return httpx.Response(answer.status, text=answer.text)
