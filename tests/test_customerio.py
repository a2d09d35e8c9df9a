"""The port, branch by branch, in original mode: exact requests, storage and errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from plugin import js
from plugin.customerio import CustomerIoPlugin, is_email
from plugin.runtime import RetryError
from plugin.testing import create_event

from .conftest import AUTH, CONFIG

IP_URL = "https://api.customer.io/v1/api/info/ip_addresses"
TRACK = "https://track.customer.io/api/v1/customers"
JSON_HEADERS = {"User-Agent": "PostHog Customer.io App", "Authorization": AUTH, "Content-Type": "application/json"}


def event(name: str = "signup", distinct_id: Any = "user-1", properties: Any = None, set_: Any = None,
          timestamp: Any = "2023-11-14T22:13:20.123Z") -> dict[str, Any]:
    """The toolkit's create_event with this module's defaults and no browser properties,
    so that request bodies stay short enough to spell out."""
    return create_event(name, distinct_id, properties, set=set_, timestamp=timestamp, browser=False)


def sent(httpx_mock: HTTPXMock) -> list[tuple[str, str, Any]]:
    return [(r.method, str(r.url), r.content.decode() or None) for r in httpx_mock.get_requests()]


@pytest.fixture
def original() -> CustomerIoPlugin:
    return CustomerIoPlugin("original")


async def ready(plugin: CustomerIoPlugin, meta: Any) -> None:
    meta.storage.load({AUTH: True})
    await plugin.setup_plugin(meta)


async def test_setup_checks_credentials_and_caches_them(original, make_meta, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=IP_URL, method="GET", json={"ip_addresses": []})
    meta = make_meta()
    await original.setup_plugin(meta)
    request = httpx_mock.get_requests()[0]
    assert request.headers["Authorization"] == AUTH
    assert request.headers["User-Agent"] == "PostHog Customer.io App"
    assert "Content-Type" not in request.headers and request.content == b""
    assert meta.storage.snapshot() == {AUTH: True}
    assert [e.message for e in meta.console.entries] == [
        "Successfully authenticated with Customer.io. Completing setupPlugin."]
    assert meta.global_ == {"authorizationHeader": AUTH, "eventNames": [], "eventsConfig": "1",
                            "identifyByEmail": False}


async def test_setup_skips_the_check_when_verified_before(original, make_meta, httpx_mock: HTTPXMock) -> None:
    meta = make_meta(storage={AUTH: True})
    await original.setup_plugin(meta)
    assert httpx_mock.get_requests() == []
    assert meta.console.entries[0].message == "Customer.io credentials verified previously. Completing setupPlugin."


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (401, '{"meta":{"error":"Unauthorized"}}', js.JSError,
         'Customer.io Site ID or API Key invalid! Response 401: {"meta":{"error":"Unauthorized"}}'),
        (403, "{ }", js.JSError, "Customer.io Site ID or API Key invalid! Response 403: {}"),
        (503, '{"x": 1}', RetryError,
         'Received a potentially intermittent error from the Customer.io API. Response 503: {"x":1}'),
        (429, "[]", RetryError, "Received a potentially intermittent error from the Customer.io API. Response 429: []"),
        (404, '"gone"', js.JSError, 'Received an unexpected error from the Customer.io API. Response 404: "gone"'),
    ],
)
async def test_setup_error_classification(original, make_meta, httpx_mock, status, body, kind, message) -> None:
    httpx_mock.add_response(url=IP_URL, status_code=status, text=body)
    meta = make_meta()
    with pytest.raises(kind) as caught:
        await original.setup_plugin(meta)
    assert type(caught.value) is kind and caught.value.message == message
    assert meta.storage.snapshot() == {}
    assert meta.global_["eventNames"] == []  # set before the request, as in the original


async def test_non_json_error_body_escapes_as_syntax_error_in_original_mode(original, make_meta, httpx_mock) -> None:
    httpx_mock.add_response(url=IP_URL, status_code=502, text="<html>Bad gateway</html>")
    with pytest.raises(js.JSSyntaxError):
        await original.setup_plugin(make_meta())


async def test_network_error_is_a_retry_error(original, make_meta, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("ECONNREFUSED"))
    with pytest.raises(RetryError) as caught:
        await original.setup_plugin(make_meta())
    assert caught.value.message == ("Cannot reach the Customer.io API. FetchError: request to "
                                    f"{IP_URL} failed, reason: ECONNREFUSED")


async def test_allowlist_is_trimmed_and_empty_names_dropped(original, make_meta) -> None:
    meta = make_meta(config={**CONFIG, "eventsToSend": " signup, $pageview ,, purchase "})
    await ready(original, meta)
    assert meta.global_["eventNames"] == ["signup", "$pageview", "purchase"]


async def test_non_string_allowlist_fails_setup_like_the_original(original, make_meta) -> None:
    with pytest.raises(js.JSTypeError, match=r"config\.eventsToSend\.split is not a function"):
        await original.setup_plugin(make_meta(config={**CONFIG, "eventsToSend": 5}))


async def test_on_event_before_setup_raises_the_guard(original, make_meta) -> None:
    with pytest.raises(RetryError, match="Cannot run exportEvents because setupPlugin failed!"):
        await original.on_event(event(), make_meta())


async def test_filtered_events_touch_nothing(original, make_meta, httpx_mock: HTTPXMock) -> None:
    meta = make_meta(config={**CONFIG, "eventsToSend": "purchase"})
    await ready(original, meta)
    await original.on_event(event("Purchase"), meta)
    assert httpx_mock.get_requests() == []
    assert meta.storage.snapshot() == {AUTH: True}


async def test_create_alias_is_skipped(original, make_meta, httpx_mock: HTTPXMock) -> None:
    meta = make_meta()
    await ready(original, meta)
    await original.on_event(event("$create_alias"), meta)
    assert httpx_mock.get_requests() == [] and "customer-status/user-1" not in meta.storage.snapshot()


async def test_first_event_creates_then_updates(original, make_meta, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=200, text="{}", is_reusable=True)
    meta = make_meta()
    await ready(original, meta)
    await original.on_event(event("$pageview", properties={"$current_url": "https://e.com/a"}), meta)
    await original.on_event(event("$identify", set_={"email": "jane@example.com", "name": "Jane"}), meta)
    assert sent(httpx_mock) == [
        ("PUT", f"{TRACK}/user-1", '{"_update":false,"identifier":"user-1"}'),
        ("POST", f"{TRACK}/user-1/events",
         '{"name":"$pageview","type":"page","timestamp":1700000000.123,"data":{"$current_url":"https://e.com/a"}}'),
        ("PUT", f"{TRACK}/user-1",
         '{"email":"jane@example.com","name":"Jane","_update":true,"identifier":"user-1"}'),
        ("POST", f"{TRACK}/user-1/events", '{"name":"$identify","type":"event","timestamp":1700000000.123,"data":{}}'),
    ]
    assert all(dict(r.headers).items() >= {k.lower(): v for k, v in JSON_HEADERS.items()}.items()
               for r in httpx_mock.get_requests())
    assert meta.storage.snapshot()["customer-status/user-1"] == ["seen", "identified", "with_email"]


async def test_status_is_written_only_when_it_grows(original, make_meta, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(text="{}", is_reusable=True)
    meta = make_meta()
    await ready(original, meta)
    writes: list[str] = []
    backend_set = meta.storage.backend.set
    meta.storage.backend.set = lambda cid, key, value: (writes.append(key), backend_set(cid, key, value))
    for _ in range(3):
        await original.on_event(event(), meta)
    assert writes == ["customer-status/user-1"]


@pytest.mark.parametrize(
    ("mode", "sends"),
    [("Send all events", [True, True, True]),
     ("Only send events from users with emails", [False, True, True]),
     ("Only send events from users that have been identified", [False, False, True])],
)
async def test_anonymous_user_modes(original, make_meta, httpx_mock, mode, sends) -> None:
    httpx_mock.add_response(text="{}", is_reusable=True, is_optional=True)
    meta = make_meta(config={**CONFIG, "sendEventsFromAnonymousUsers": mode})
    await ready(original, meta)
    steps = [event("view"), event("signup", set_={"email": "a@b.co"}), event("$identify")]
    got = []
    for item in steps:
        before = len(httpx_mock.get_requests())
        await original.on_event(item, meta)
        got.append(len(httpx_mock.get_requests()) > before)
    assert got == sends


async def test_unknown_mode_throws_after_writing_the_status(original, make_meta) -> None:
    meta = make_meta(config={**CONFIG, "sendEventsFromAnonymousUsers": "Sometimes"})
    await ready(original, meta)
    with pytest.raises(js.JSError, match=r"^Error: Unknown eventsConfig: undefined$"):
        await original.on_event(event(), meta)
    assert meta.storage.snapshot()["customer-status/user-1"] == ["seen"]


async def test_email_falls_back_to_distinct_id_only_for_an_invalid_set_email(original, make_meta, httpx_mock) -> None:
    httpx_mock.add_response(text="{}", is_reusable=True)
    meta = make_meta()
    await ready(original, meta)
    await original.on_event(event(distinct_id="d@example.com", set_={"email": "nope"}), meta)
    await original.on_event(event(distinct_id="e@example.com", set_={"name": "x"}), meta)
    bodies = [json.loads(b) for m, _, b in sent(httpx_mock) if m == "PUT"]
    assert bodies[0]["email"] == "d@example.com"
    assert "email" not in bodies[1]


async def test_null_set_is_a_type_error(original, make_meta) -> None:
    meta = make_meta()
    await ready(original, meta)
    with pytest.raises(js.JSTypeError, match=r"Cannot read properties of null \(reading 'email'\)"):
        await original.on_event(event(set_=None) | {"$set": None}, meta)


async def test_identify_by_email_uses_the_email_in_the_path(original, make_meta, httpx_mock) -> None:
    httpx_mock.add_response(text="{}", is_reusable=True)
    meta = make_meta(config={**CONFIG, "identifyByEmail": "Yes"})
    await ready(original, meta)
    await original.on_event(event(set_={"email": "Mixed@Example.COM"}), meta)
    expected = [f"{TRACK}/Mixed@Example.COM", f"{TRACK}/Mixed@Example.COM/events"]
    assert [url for _, url, _ in sent(httpx_mock)] == expected


async def test_payload_order_created_at_and_cleanup(original, make_meta, httpx_mock) -> None:
    httpx_mock.add_response(text="{}", is_reusable=True)
    meta = make_meta()
    await ready(original, meta)
    attributes = {"b": 1, "10": "ten", "_update": "x", "email": "bad", "created_at": "2023-01-02T03:04:05.678+02:00",
                  "2": "two"}
    item = event("p", properties={"plan": "x", "$set_once": {"f": 1}}, set_=attributes)
    await original.on_event(item, meta)
    put, post = sent(httpx_mock)
    assert put[2] == ('{"2":"two","10":"ten","b":1,"_update":false,"email":"bad",'
                      '"created_at":1672621445.678,"identifier":"user-1"}')
    assert post[2] == '{"name":"p","type":"event","timestamp":1700000000.123,"data":{"plan":"x"}}'
    assert "$set" not in item["properties"] and "$set" in item  # the event is mutated like the original's


@pytest.mark.parametrize(
    ("name", "timestamp", "expected"),
    [("$screen", "2024-01-01T00:00:00.500Z", '"type":"screen","timestamp":1704067200.5'),
     ("custom", None, '"type":"event","timestamp":1700000000.123'),
     ("$pageview", "garbage", '"type":"page","timestamp":null'),
     ("custom", 1704067200000, '"type":"event","timestamp":1704067200')],
)
async def test_event_type_and_timestamp(original, make_meta, httpx_mock, name, timestamp, expected) -> None:
    httpx_mock.add_response(text="{}", is_reusable=True)
    meta = make_meta()
    await ready(original, meta)
    await original.on_event(event(name, timestamp=timestamp), meta)
    assert expected in sent(httpx_mock)[1][2]


@pytest.mark.parametrize(
    ("status", "kind"), [(400, js.JSError), (302, js.JSError), (408, RetryError), (429, RetryError), (500, RetryError)]
)
async def test_put_failure_stops_before_the_event(original, make_meta, httpx_mock, status, kind) -> None:
    httpx_mock.add_response(method="PUT", status_code=status, text='{"meta":{"error":"x"}}')
    meta = make_meta()
    await ready(original, meta)
    with pytest.raises(kind):
        await original.on_event(event(), meta)
    assert [m for m, _, _ in sent(httpx_mock)] == ["PUT"]
    assert meta.storage.snapshot()["customer-status/user-1"] == ["seen"]  # marked seen before sending


@pytest.mark.parametrize(
    ("text", "valid"),
    [("a@b.com", True), ("x@[1.2.3.4]", True), ("ü@x.com", True), ('"a b@c"@x.com', True), ("-a-@-b-.co", True),
     ("a@b", False), ("a@b.c", False), ("a..b@x.com", False), ("a@1.2.3.4", False), ("a@b.com\n", False),
     ("a\u00a0b@x.com", False), ("a\x1cb@x.com", True), ('"a\rb"@x.com', False), (12345, False)],
)
def test_is_email_has_javascript_regex_semantics(text: Any, valid: bool) -> None:
    assert is_email(text) is valid
