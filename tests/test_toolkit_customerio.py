"""The Customer.io port through the toolkit and the fake Customer.io, on both engines.

The JavaScript run needs the original's source (--js-plugin or $CIO_JS_PLUGIN); the
tests compare behaviour, so the port runs in original mode.
"""

from __future__ import annotations

import pytest

from plugin.testing import create_event, create_identify, create_pageview

pytestmark = pytest.mark.both_engines


@pytest.fixture
async def connector(plugin_runtime, fake_customerio):
    async def make(**config):
        runtime = await plugin_runtime("plugin.customerio", compat="original",
                                       config={**fake_customerio.config, **config})
        assert (await runtime.setup()).ok
        return runtime

    return make


async def test_identify_creates_the_person_and_tracks_the_event(connector, fake_customerio) -> None:
    runtime = await connector()
    result = await runtime.on_event(create_identify("u1", "ada@example.com", set={"plan": "pro"}))
    assert result.ok
    person = fake_customerio.person("u1")
    assert person["email"] == "ada@example.com" and person["plan"] == "pro"
    assert fake_customerio.event_names("u1") == ["$identify"]
    assert runtime.storage["customer-status/u1"] == ["seen", "identified", "with_email"]


async def test_later_events_update_the_same_person(connector, fake_customerio) -> None:
    runtime = await connector()
    await runtime.on_event(create_identify("u1", "ada@example.com"))
    await runtime.on_event(create_pageview("u1"))
    assert fake_customerio.event_names("u1") == ["$identify", "$pageview"]
    updates = [r.json for r in fake_customerio.requests if r.method == "PUT"]
    assert [u["_update"] for u in updates] == [False, True]


async def test_anonymous_users_are_filtered_when_asked(connector, fake_customerio) -> None:
    runtime = await connector(sendEventsFromAnonymousUsers="Only send events from users with emails")
    assert (await runtime.on_event(create_event("clicked", "anon-1"))).ok
    assert fake_customerio.people == {} and fake_customerio.events == {}


async def test_a_customerio_outage_is_a_retry(connector, fake_customerio) -> None:
    runtime = await connector()
    fake_customerio.fail_next(status=503, body='{"meta":{"error":"down"}}')
    result = await runtime.on_event(create_event("clicked", "u2"))
    assert result.retryable
    assert "Response 503" in result.error.message


async def test_wrong_credentials_fail_setup(plugin_runtime, fake_customerio) -> None:
    runtime = await plugin_runtime("plugin.customerio", compat="original",
                                   config={**fake_customerio.config, "customerioToken": "wrong"})
    result = await runtime.setup()
    assert not result.ok and not result.retryable
    assert result.error.message.startswith("Customer.io Site ID or API Key invalid! Response 401")
