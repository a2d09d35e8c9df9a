"""Each deviation of compat="safe" from the original, pinned."""

from __future__ import annotations

import json

import pytest
from pytest_httpx import HTTPXMock

from plugin.customerio import CustomerIoPlugin
from plugin.runtime import RetryError

from .conftest import AUTH, CONFIG
from .test_customerio import IP_URL, TRACK, event, sent


@pytest.fixture
def safe() -> CustomerIoPlugin:
    return CustomerIoPlugin()  # the default


async def test_default_compat_is_safe() -> None:
    assert CustomerIoPlugin().compat == "safe"


@pytest.mark.parametrize(
    ("distinct_id", "segment"),
    [("../x", "..%2Fx"), ("a#b", "a%23b"), ("a?b=c", "a%3Fb%3Dc"), ("a b", "a%20b"), ("ü名", "%C3%BC%E5%90%8D"),
     ("a@b.com", "a%40b.com"), (12345, "12345")],
)
async def test_ids_are_percent_encoded(safe, make_meta, httpx_mock: HTTPXMock, distinct_id, segment) -> None:
    httpx_mock.add_response(text="{}", is_reusable=True)
    meta = make_meta()
    meta.storage.load({safe.credentials_key(AUTH): True})
    await safe.setup_plugin(meta)
    await safe.on_event(event(distinct_id=distinct_id), meta)
    assert [url for _, url, _ in sent(httpx_mock)] == [f"{TRACK}/{segment}", f"{TRACK}/{segment}/events"]


async def test_html_502_is_retried(safe, make_meta, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=IP_URL, status_code=502, text="<html>Bad gateway</html>")
    with pytest.raises(RetryError) as caught:
        await safe.setup_plugin(make_meta())
    assert caught.value.message == ("Received a potentially intermittent error from the Customer.io API. "
                                    "Response 502: <html>Bad gateway</html>")


async def test_empty_401_is_the_credentials_error(safe, make_meta, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=IP_URL, status_code=401, text="")
    with pytest.raises(Exception, match=r"Site ID or API Key invalid! Response 401: $"):
        await safe.setup_plugin(make_meta())


async def test_no_secret_in_storage(safe, make_meta, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(text="{}", is_reusable=True)
    meta = make_meta()
    await safe.setup_plugin(meta)
    await safe.on_event(event(), meta)
    dump = json.dumps(meta.storage.snapshot())
    for secret in (AUTH, AUTH.split()[1], CONFIG["customerioSiteId"], CONFIG["customerioToken"]):
        assert secret not in dump
    # and the check is still cached: a second setup sends nothing
    before = len(httpx_mock.get_requests())
    await safe.setup_plugin(meta)
    assert len(httpx_mock.get_requests()) == before


async def test_person_filtered_at_first_is_created_when_they_qualify(safe, make_meta, httpx_mock) -> None:
    httpx_mock.add_response(text="{}", is_reusable=True)
    meta = make_meta(config={**CONFIG, "sendEventsFromAnonymousUsers": "Only send events from users with emails"})
    await safe.setup_plugin(meta)
    await safe.on_event(event("view", distinct_id="anon"), meta)  # filtered, but marks the person seen
    await safe.on_event(event("signup", distinct_id="anon", set_={"email": "a@b.co"}), meta)
    await safe.on_event(event("view", distinct_id="anon"), meta)
    puts = [json.loads(body)["_update"] for method, _, body in sent(httpx_mock) if method == "PUT"]
    assert puts == [False, True]  # the original sends [True, True]: the person never gets created


async def test_failed_first_identify_does_not_block_creation(safe, make_meta, httpx_mock: HTTPXMock) -> None:
    meta = make_meta()
    httpx_mock.add_response(url=IP_URL, text="{}")
    await safe.setup_plugin(meta)
    httpx_mock.add_response(method="PUT", status_code=500, text="{}")
    with pytest.raises(RetryError):
        await safe.on_event(event(), meta)
    httpx_mock.add_response(text="{}", is_reusable=True)
    await safe.on_event(event(), meta)
    await safe.on_event(event(), meta)
    puts = [json.loads(body)["_update"] for method, _, body in sent(httpx_mock) if method == "PUT"]
    assert puts == [False, False, True]
    assert meta.storage.snapshot()["customer-status/user-1"] == ["seen", "created"]


async def test_original_mode_keeps_the_quirks(make_meta, httpx_mock: HTTPXMock) -> None:
    original = CustomerIoPlugin("original")
    httpx_mock.add_response(text="{}", is_reusable=True)
    meta = make_meta()
    await original.setup_plugin(meta)
    await original.on_event(event(distinct_id="../x"), meta)
    assert AUTH in meta.storage.snapshot()
    assert sent(httpx_mock)[1][1] == "https://track.customer.io/api/v1/x"


def test_unknown_compat_is_refused() -> None:
    with pytest.raises(ValueError, match="compat must be one of original, safe"):
        CustomerIoPlugin("loose")  # type: ignore[arg-type]
