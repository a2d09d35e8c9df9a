"""A fake Customer.io Track API, answering the runtime's fetch through pytest-httpx.

It keeps people (attributes merged by identify; `_update: true` never creates one) and
their events, checks Basic auth against the credentials it was given, and can be told to
fail the next N calls (status, body, Retry-After, or a network error).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

HOSTS = re.compile(r"^https://(track|track-eu|api)\.customer\.io(/.*)?$")
CUSTOMER = re.compile(r"^/api/v1/customers/([^/]+)$")
CUSTOMER_EVENT = re.compile(r"^/api/v1/customers/([^/]+)/events$")
UNAUTHORIZED = {"meta": {"error": "Unauthorized request"}}


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
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[TrackRequest] = field(default_factory=list)
    _failures: list[Failure] = field(default_factory=list)

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
    def person(self, customer_id: str) -> dict[str, Any] | None:
        return self.people.get(customer_id)

    def events_for(self, customer_id: str) -> list[dict[str, Any]]:
        return self.events.get(customer_id, [])

    def event_names(self, customer_id: str) -> list[str]:
        return [event["name"] for event in self.events_for(customer_id)]

    # ---- the API ---------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode("ascii").split("?")[0]
        body = request.content.decode("utf-8") if request.content else None
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body
        record = TrackRequest(request.method, request.url.host, path, parsed)
        self.requests.append(record)
        if self._failures:
            failure = self._failures.pop(0)
            if failure.network_error is not None:
                raise httpx.ConnectError(failure.network_error, request=request)
            headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
            return self._answer(record, failure.status, failure.body, headers)
        if request.headers.get("Authorization") != self._authorization():
            return self._answer(record, 401, json.dumps(UNAUTHORIZED))
        status, answer = self._route(request.method, request.url.host, path, parsed)
        return self._answer(record, status, json.dumps(answer))

    def _authorization(self) -> str:
        return "Basic " + base64.b64encode(f"{self.site_id}:{self.api_key}".encode()).decode("ascii")

    @staticmethod
    def _answer(record: TrackRequest, status: int, body: str, headers: dict[str, str] | None = None) -> httpx.Response:
        record.status = status
        return httpx.Response(status, text=body, headers=headers)

    def _route(self, method: str, host: str, path: str, body: Any) -> tuple[int, Any]:
        if host == "api.customer.io" and method == "GET" and path == "/v1/api/info/ip_addresses":
            return 200, {"ip_addresses": ["34.29.50.4", "35.188.196.183"]}
        customer, event = CUSTOMER.match(path), CUSTOMER_EVENT.match(path)
        if host != "api.customer.io" and method == "PUT" and customer:
            return self._identify(unquote(customer.group(1)), body)
        if host != "api.customer.io" and method == "POST" and event:
            return self._track(unquote(event.group(1)), body)
        return 404, {"meta": {"error": "not found"}}

    def _identify(self, customer_id: str, attributes: Any) -> tuple[int, Any]:
        if not isinstance(attributes, dict):
            return 400, {"meta": {"error": "invalid JSON body"}}
        attributes = dict(attributes)
        update_only = attributes.pop("_update", False) is True
        if customer_id not in self.people:
            if update_only:
                return 200, {}  # `_update: true` never creates a person
            self.people[customer_id] = {}
        self.people[customer_id].update(attributes)
        return 200, {}

    def _track(self, customer_id: str, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            return 400, {"meta": {"error": "event name is required"}}
        self.events.setdefault(customer_id, []).append(body)
        return 200, {}
