"""The main job's client transports: pools side by side, the request-rate cap, the real target."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from plugin.cli import main
from plugin.main_job import _progress_line
from plugin.run import Counters
from plugin.testing import FakeCustomerIo
from plugin.transport import PoolShards, RateLimited


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        await self.release.wait()
        return httpx.Response(200)


async def test_requests_go_to_the_least_busy_pool() -> None:
    shards = PoolShards(20)
    assert len(shards.pools) == 3
    recorders = [Recorder() for _ in shards.pools]
    shards.pools = recorders  # type: ignore[assignment]
    waiting = [asyncio.ensure_future(shards.handle_async_request(httpx.Request("GET", f"https://x/{i}")))
               for i in range(6)]
    await asyncio.sleep(0)
    assert [len(r.seen) for r in recorders] == [2, 2, 2] and shards.busy == [2, 2, 2]
    for recorder in recorders:
        recorder.release.set()
    await asyncio.gather(*waiting)
    assert shards.busy == [0, 0, 0]


async def test_the_rate_cap_spaces_requests_evenly(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def no_sleep(seconds: float) -> None:  # record the waits instead of waiting
        waits.append(round(seconds, 2))
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    recorder = Recorder()
    recorder.release.set()
    capped = RateLimited(recorder, per_second=10)
    for i in range(4):
        await capped.handle_async_request(httpx.Request("GET", f"https://x/{i}"))
    assert len(recorder.seen) == 4
    assert len(waits) == 3 and all(0.09 <= wait <= 0.31 for wait in waits)


def test_target_customerio_sends_to_the_real_hosts(tmp_path: Path, httpx_mock, capsys) -> None:
    fake = FakeCustomerIo(site_id="real-site", api_key="real-key")
    httpx_mock.add_callback(fake.handle, is_optional=True, is_reusable=True)  # answers every host
    events = tmp_path / "events.jsonl"
    events.write_text('{"event": "$identify", "distinct_id": "u1", "$set": {"email": "u1@example.com"}}\n'
                      '{"event": "paid", "distinct_id": "u1"}\n')
    code = main(["run", str(events), "--state", str(tmp_path / "state.sqlite"), "--target", "customerio",
                 "--set", "customerioSiteId=real-site", "--set", "customerioToken=real-key",
                 "--set", "host=track-eu.customer.io", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["delivered"] == 2
    assert {r.host for r in fake.requests} == {"api.customer.io", "track-eu.customer.io"}
    assert fake.person("u1")["email"] == "u1@example.com"
    assert fake.event_names("u1") == ["$identify", "paid"]
    assert not (tmp_path / "emulator.sqlite").exists()


def test_progress_line_and_quiet_without_a_terminal(tmp_path: Path, capsys) -> None:
    class Shown:
        counters = Counters(read=10, delivered=7, failed=1, bad_lines=2, retries=3, in_flight=2)

    line = _progress_line(Shown())  # type: ignore[arg-type]
    assert line.startswith("\rread 10  sent 7  failed 1  bad lines 2  retries 3  in flight 2  ")
    events = tmp_path / "events.jsonl"
    events.write_text('{"event": "a", "distinct_id": "u1"}\n')
    assert main(["run", str(events), "--state", str(tmp_path / "state.sqlite")]) == 0
    assert "\r" not in capsys.readouterr().err  # stderr is not a terminal here
