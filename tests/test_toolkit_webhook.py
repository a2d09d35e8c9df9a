"""The toolkit on a plugin that is not Customer.io: our webhook relay, on both engines.

Every test here runs twice: on fixtures/plugins/webhook.py and on its JavaScript twin.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from plugin.testing import create_event, create_pageview

PLUGINS = Path(__file__).resolve().parent.parent / "fixtures" / "plugins"
HOOK = "https://hooks.example.com/hook"

pytestmark = pytest.mark.both_engines


@pytest.fixture
async def relay(plugin_runtime):
    runtime = await plugin_runtime(PLUGINS / "webhook.py", js=PLUGINS / "webhook",
                                   config={"host": "hooks.example.com", "token": "t0ken"})
    assert (await runtime.setup()).ok
    return runtime


async def test_relays_events_and_counts_per_person(relay, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HOOK, is_reusable=True)
    for event in (create_event("paid", "u1", {"amount": 3}, browser=False), create_event("paid", "u1", browser=False)):
        assert (await relay.on_event(event)).ok
    bodies = [request.content.decode() for request in httpx_mock.get_requests()]
    assert bodies == ['{"event":"paid","distinct_id":"u1","n":1,"properties":{"amount":3}}',
                      '{"event":"paid","distinct_id":"u1","n":2,"properties":{}}']
    assert httpx_mock.get_requests()[0].headers["Authorization"] == "Bearer t0ken"
    assert relay.storage == {"sent/u1": 2}
    assert relay.logs == ["relayed paid for u1 (#1)", "relayed paid for u1 (#2)"]
    assert await relay.cache.get("setup") is True


async def test_ignores_posthog_events(relay, httpx_mock: HTTPXMock) -> None:
    result = await relay.on_event(create_pageview("u1"))
    assert result.ok and result.calls == [] and relay.storage == {}


async def test_a_5xx_is_a_retry_and_a_4xx_is_not(relay, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HOOK, status_code=503)
    httpx_mock.add_response(url=HOOK, status_code=400, text="no")
    busy = await relay.on_event(create_event("a", "u1"))
    refused = await relay.on_event(create_event("b", "u1"))
    assert busy.retryable and busy.error.message == "webhook answered 503"
    assert not refused.retryable and refused.error.message == "webhook refused the event: 400 no"
    assert await relay.cache.get("retries") == 1 and relay.storage == {}


async def test_the_host_retries_until_delivered(relay, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HOOK, status_code=503)
    httpx_mock.add_response(url=HOOK, status_code=429)
    httpx_mock.add_response(url=HOOK)
    host = relay.host(retry="posthog-2022")
    outcome = await host.on_event(create_event("a", "u9"))
    assert (outcome.status, outcome.attempts) == ("ok", 3)
    assert relay.meta.clock.sleeps == [5.0, 10.0]
    assert relay.storage == {"sent/u9": 1}
