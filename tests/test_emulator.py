"""The emulator as a loopback HTTP server: the Track API rules over real sockets, and faults."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from plugin.emulator import SQLiteStore, TrackApi
from plugin.emulator.server import Emulator, Faults, RouteToEmulator


@pytest.fixture
def api(tmp_path: Path) -> TrackApi:
    return TrackApi(SQLiteStore(tmp_path / "emulator.sqlite"), "site", "key")


async def test_customerio_hosts_are_served_on_loopback(api: TrackApi) -> None:
    auth = {"Authorization": api.authorization()}
    async with Emulator(api) as emulator, httpx.AsyncClient(transport=RouteToEmulator(emulator.url)) as client:
        check = await client.get("https://api.customer.io/v1/api/info/ip_addresses", headers=auth)
        put = await client.put("https://track-eu.customer.io/api/v1/customers/a%2Fb", json={"email": "x@y.z"},
                               headers=auth)
        post = await client.post("https://track.customer.io/api/v1/customers/a%2Fb/events",
                                 json={"name": "paid", "data": {"n": 1}, "timestamp": 1714557600}, headers=auth)
        denied = await client.put("https://track.customer.io/api/v1/customers/u", json={}, headers={})
        with pytest.raises(httpx.ConnectError, match=r"not a Customer\.io host"):
            await client.get("https://example.com/")
    assert [r.status_code for r in (check, put, post, denied)] == [200, 200, 200, 401]
    assert denied.json() == {"meta": {"error": "Unauthorized request"}}
    store = api.store
    assert store.people() == [("a/b", {"email": "x@y.z"})]
    assert store.events() == [{"customer_id": "a/b", "name": "paid", "type": None, "timestamp": 1714557600,
                               "data": {"n": 1}}]


async def test_faults_are_injected_at_the_asked_rates(api: TrackApi) -> None:
    faults = Faults(error_rate=0.2, throttle_rate=0.1, retry_after=3, drop_rate=0.1, seed=7)
    outcomes: dict[str, int] = {}
    async with Emulator(api, faults) as emulator, httpx.AsyncClient(transport=RouteToEmulator(emulator.url)) as client:
        for _ in range(400):
            try:
                answer = await client.put("https://track.customer.io/api/v1/customers/u", json={"a": 1},
                                          headers={"Authorization": api.authorization()})
                key = str(answer.status_code)
                if answer.status_code == 429:
                    assert answer.headers["Retry-After"] == "3"
            except httpx.TransportError:
                key = "dropped"
            outcomes[key] = outcomes.get(key, 0) + 1
    assert set(outcomes) == {"200", "500", "429", "dropped"}
    assert 40 <= outcomes["500"] <= 120 and 15 <= outcomes["429"] <= 70 and 15 <= outcomes["dropped"] <= 70


def test_fault_rates_are_checked() -> None:
    with pytest.raises(ValueError, match="error_rate must be between 0 and 1"):
        Faults(error_rate=2)
