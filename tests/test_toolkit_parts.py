"""The toolkit's parts on their own: event factories and the fake Customer.io's API rules."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import httpx
import pytest

from plugin.testing import FakeCustomerIo, create_event, create_identify, create_pageview, iso_timestamp


def test_events_look_like_what_posthog_hands_to_plugins() -> None:
    event = create_event("paid", "u1", {"amount": 3}, set={"plan": "pro"}, set_once={"first": "x"})
    assert re.fullmatch(r"[0-9a-f-]{36}", event["uuid"])
    assert (event["event"], event["distinct_id"], event["team_id"], event["ip"]) == ("paid", "u1", 2, None)
    assert event["timestamp"] == "2024-05-01T10:00:00.000Z"
    assert event["properties"]["amount"] == 3 and event["properties"]["$lib"] == "web"
    assert event["$set"] is event["properties"]["$set"] and event["$set_once"] == {"first": "x"}
    assert create_event(uuid="fixed", browser=False)["uuid"] == "fixed"
    assert create_event(browser=False)["properties"] == {}


def test_pageview_and_identify() -> None:
    pageview = create_pageview("u2", url="https://shop.example.com/cart")
    assert pageview["event"] == "$pageview" and pageview["properties"]["$current_url"] == "https://shop.example.com/cart"
    identify = create_identify("u3", "u3@example.com", set={"name": "Ada"}, anon_distinct_id="anon-9")
    assert identify["$set"] == {"email": "u3@example.com", "name": "Ada"}
    assert identify["properties"]["$anon_distinct_id"] == "anon-9"
    assert "$set" in create_identify("u4", None) and create_identify("u4", None)["$set"] == {}


def test_iso_timestamp_has_milliseconds() -> None:
    assert iso_timestamp(datetime(2024, 2, 29, 12, 0, 1, 234567, tzinfo=UTC)) == "2024-02-29T12:00:01.234Z"


def call(fake: FakeCustomerIo, method: str, url: str, body: object = None, auth: str | None = None) -> httpx.Response:
    headers = {"Authorization": auth or fake.api.authorization()}
    content = json.dumps(body).encode() if body is not None else None
    return fake.handle(httpx.Request(method, url, headers=headers, content=content))


def test_fake_customerio_follows_the_track_api() -> None:
    fake = FakeCustomerIo()
    base = "https://track.customer.io/api/v1/customers"
    assert call(fake, "GET", "https://api.customer.io/v1/api/info/ip_addresses").status_code == 200
    assert call(fake, "GET", "https://api.customer.io/v1/api/info/ip_addresses", auth="Basic eDp5").status_code == 401
    assert call(fake, "PUT", f"{base}/ghost", {"_update": True, "a": 1}).status_code == 200
    assert fake.people == {}  # `_update: true` never creates a person
    call(fake, "PUT", f"{base}/a%20b", {"_update": False, "email": "x@y.z"})
    call(fake, "PUT", f"{base}/a%20b", {"_update": True, "plan": "pro"})
    assert fake.person("a b") == {"email": "x@y.z", "plan": "pro"}
    assert call(fake, "POST", f"{base}/a%20b/events", {"name": "paid", "data": {"n": 1}}).status_code == 200
    assert fake.event_names("a b") == ["paid"]
    assert call(fake, "POST", f"{base}/a%20b/events", {"data": {}}).status_code == 400
    assert call(fake, "DELETE", f"{base}/a%20b").status_code == 405
    assert call(fake, "GET", "https://track.customer.io/nowhere").status_code == 404
    assert [(r.method, r.path, r.status) for r in fake.requests][-3:] == [
        ("POST", "/api/v1/customers/a%20b/events", 400), ("DELETE", "/api/v1/customers/a%20b", 405),
        ("GET", "/nowhere", 404)]


@pytest.mark.parametrize(
    ("method", "path", "body", "error"),
    [
        ("PUT", "/" + "é" * 76, {}, "customer id is longer than 150 bytes"),
        ("PUT", "/u", {"n" * 151: 1}, "is longer than 150 bytes"),
        ("PUT", "/u", {"bio": "x" * 1001}, "attribute 'bio' has a value longer than 1000 bytes"),
        ("PUT", "/u", {f"a{i}": i for i in range(301)}, "a person can have at most 300 attributes"),
        ("POST", "/u/events", {"name": "e" * 101}, "event name is longer than 100 bytes"),
        ("POST", "/u/events", {"name": "big", "data": {"x": "y" * 102_400}}, "event data is larger than 100 KB"),
    ],
)
def test_fake_customerio_enforces_the_limits(method: str, path: str, body: dict, error: str) -> None:
    fake = FakeCustomerIo()
    answer = call(fake, method, f"https://track.customer.io/api/v1/customers{path}", body)
    assert answer.status_code == 400 and error in answer.json()["meta"]["error"]
    assert fake.people == {} and fake.events == {}


def test_fake_customerio_fails_on_request() -> None:
    fake = FakeCustomerIo()
    fake.fail_next(2, status=429, body="slow down", retry_after=7)
    fake.fail_next(network_error="ECONNRESET")
    url = "https://track-eu.customer.io/api/v1/customers/u1"
    for _ in range(2):
        answer = call(fake, "PUT", url, {})
        assert (answer.status_code, answer.text, answer.headers["Retry-After"]) == (429, "slow down", "7")
    with pytest.raises(httpx.ConnectError, match="ECONNRESET"):
        call(fake, "PUT", url, {})
    assert call(fake, "PUT", url, {"a": 1}).status_code == 200 and fake.person("u1") == {"a": 1}
