"""The main job's client transports: pools side by side, the request-rate cap, the real target."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from plugin.cli import main
from plugin.main_job import _progress_line
from plugin.run import Counters
from plugin.testing import FakeCustomerIo
from plugin.transport import PoolShards, RateLimited

ROOT = Path(__file__).resolve().parent.parent


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
        counters = Counters(read=10, delivered=7, filtered=2, failed=1, bad_lines=2, retries=3, in_flight=2)

    line = _progress_line(Shown())  # type: ignore[arg-type]
    assert line.startswith("\rread 10  sent 5  filtered 2  failed 1  retried 3  bad lines 2  in flight 2  ")
    assert line.endswith(" events/s\x1b[K")  # erases what a longer line left
    events = tmp_path / "events.jsonl"
    events.write_text('{"event": "a", "distinct_id": "u1"}\n')
    assert main(["run", str(events), "--state", str(tmp_path / "state.sqlite")]) == 0
    assert "\r" not in capsys.readouterr().err  # stderr is not a terminal here


def test_progress_redraws_one_line_on_a_terminal(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({"event": "a", "distinct_id": f"u{i % 50}"}) + "\n" for i in range(600)))
    controller, terminal = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "plugin", "run", str(events), "--state",
                              str(tmp_path / "state.sqlite"), "--latency-ms", "20", "--concurrency", "8"],
                             cwd=ROOT, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    assert child.wait(timeout=60) == 0
    os.close(controller)
    text = shown.decode()
    redraws = text.count("\rread ")
    assert redraws >= 3, text  # drawn at the start, every half second, and once at the end
    assert all(line.endswith("\x1b[K") for line in re.findall(r"\rread [^\r\n]*", text))  # erased past its end
    assert re.search(r"\rread 600  sent 600  filtered 0  failed 0  retried 0  bad lines 0  in flight 0  ", text)
    assert "600 events read, 600 delivered" in text.split("\rread 600")[-1]  # the summary comes after
