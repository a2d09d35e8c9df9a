"""The runtime, feature by feature: storage, cache, console, fetch, manifest, host."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from plugin import js
from plugin.runtime import (
    Cache,
    Console,
    Fetch,
    FetchError,
    FrozenClock,
    LogLevel,
    LogSource,
    MemoryBackend,
    RetryError,
    SQLiteBackend,
    Storage,
    StorageError,
)
from plugin.runtime.engine import PythonEngine, invoke, load_python_plugin
from plugin.runtime.errors import ConfigError, ManifestError
from plugin.runtime.fetch import FetchCall
from plugin.runtime.host import PluginHost
from plugin.runtime.manifest import load_manifest, validate_config
from plugin.runtime.retry import Backoff, retry_policy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    backend = MemoryBackend() if request.param == "memory" else SQLiteBackend(tmp_path / "state.sqlite")
    return Storage(backend, plugin_config_id=7)


async def test_storage_is_a_json_round_trip(storage: Storage) -> None:
    await storage.set("set", js.JSSet(["a"]))
    await storage.set("nan", float("nan"))
    await storage.set("obj", {"a": js.UNDEFINED, "b": [1.0, None]})
    await storage.set("null", None)
    assert await storage.get("set") == {}
    assert await storage.get("nan") is None
    assert await storage.get("obj") == {"b": [1, None]}
    assert await storage.get("null", "default") is None  # a stored null is not a missing row
    assert await storage.get("missing", "default") == "default"


async def test_storage_undefined_and_delete_remove_rows(storage: Storage) -> None:
    await storage.set("a", 1)
    await storage.set("b", 2)
    await storage.set("a", js.UNDEFINED)
    await storage.delete("b")
    assert storage.snapshot() == {}


async def test_storage_key_limit(storage: Storage) -> None:
    await storage.set("k" * 200, True)
    with pytest.raises(StorageError, match=r"value too long for type character varying\(200\)"):
        await storage.set("k" * 201, True)


def test_sqlite_storage_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    asyncio.run(Storage(SQLiteBackend(path), 3).set("customer-status/x", ["seen"]))
    reopened = SQLiteBackend(path)
    assert Storage(reopened, 3).snapshot() == {"customer-status/x": ["seen"]}
    assert Storage(reopened, 4).snapshot() == {}
    columns = [row[1] for row in reopened._db.execute("PRAGMA table_info(posthog_pluginstorage)")]
    assert columns == ["id", "plugin_config_id", "key", "value"]


async def test_cache_set_get_ttl_and_serialisation() -> None:
    clock = FrozenClock(0)
    cache = Cache(plugin_id=5, team_id=2, clock=clock)
    assert cache.prefix == "@plugin/5/2/"
    await cache.set("k", {"a": 1}, 10)
    await cache.set("raw", 12, json_serialize=False)
    await cache.set("empty", "", json_serialize=False)
    assert await cache.get("k") == {"a": 1}
    assert await cache.get("raw", json_serialize=False) == "12"
    assert await cache.get("empty", "d") is None
    assert await cache.get("missing", "d") == "d"
    clock.advance(10)
    assert await cache.get("k", "gone") == "gone"


async def test_cache_counters_and_lists() -> None:
    clock = FrozenClock(0)
    cache = Cache(clock=clock)
    assert [await cache.incr("n"), await cache.incr("n")] == [1, 2]
    assert await cache.expire("n", 1) and not await cache.expire("nothing", 1)
    clock.advance(1)
    assert await cache.get("n") is None
    assert await cache.lpush("l", ["a", "b", 3]) == 3
    assert await cache.lrange("l", 0, -1) == ["3", "b", "a"]
    assert await cache.llen("l") == 3
    assert await cache.lrem("l", 1, "b") == 1
    assert await cache.lpop("l", 1) == ["3"]
    with pytest.raises(js.JSError, match="takes numbers"):
        await cache.lrange("l", "0", 1)
    with pytest.raises(js.JSError, match="Too many elements"):
        await cache.lpush("l", ["x"] * 1001)


def test_console_formats_like_posthog() -> None:
    console = Console(lambda: 1_700_000_000_123)
    console.debug({"status": js.JSSet(), "existsAlready": False, "email": None})
    console.log("a", 1, None, [1, "x"], js.JSSet(), js.JSError("boom"))
    console.write(LogSource.SYSTEM, LogLevel.ERROR, "system")
    assert [e.message for e in console.entries] == [
        '{"status":{},"existsAlready":false,"email":null}',
        'a 1 null [1,"x"] [object Set] Error: boom',
        "system",
    ]
    assert console.entries[0].to_dict() == {"timestamp": "2023-11-14 22:13:20.123", "source": "CONSOLE",
                                            "type": "DEBUG", "message": console.entries[0].message}
    quiet = Console(lambda: 0, min_level=LogLevel.INFO)
    quiet.debug("x")
    quiet.warn("y")
    assert [e.type for e in quiet.entries] == [LogLevel.WARN]


async def test_fetch_response_and_errors(make_meta, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://example.com/a%20b?q=1", json={"ok": 1}, headers={"X-Test": "y"})
    meta = make_meta()
    response = await meta.fetch("https://example.com/a b?q=1", method="POST", headers={"A": 1}, body="x")
    assert (response.status, response.ok, response.headers["x-test"]) == (200, True, "y")
    assert await response.json() == {"ok": 1} and await response.text() == '{"ok":1}'
    request = httpx_mock.get_requests()[0]
    assert request.headers["A"] == "1" and request.content == b"x"
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    with pytest.raises(FetchError, match=r"request to https://example\.com/x failed, reason: refused"):
        await meta.fetch("https://example.com/x")
    with pytest.raises(js.JSTypeError, match="Invalid URL"):
        await meta.fetch("https://exa mple.com/")


async def test_fetch_keeps_no_cookies_and_adds_node_fetch_defaults(make_meta, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://example.com/login", headers={"Set-Cookie": "session=abc; Path=/"})
    httpx_mock.add_response(url="https://example.com/next")
    meta = make_meta()
    await meta.fetch("https://example.com/login")
    await meta.fetch("https://example.com/next", headers={"User-Agent": "PostHog Customer.io App"})
    first, second = httpx_mock.get_requests()
    assert "cookie" not in second.headers  # node-fetch has no cookie store
    assert first.headers["accept"] == "*/*" and "gzip" in first.headers["accept-encoding"]
    assert second.headers.get_list("user-agent") == ["PostHog Customer.io App"]  # the plugin's, not also ours


async def test_fetch_decodes_bodies_and_reports_broken_ones() -> None:
    class Gzipped(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = gzip.compress(b"gzip me") if request.url.path == "/ok" else b"not gzip"
            return httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(body))

    fetch = Fetch(Gzipped())
    assert await (await fetch("https://example.com/ok")).text() == "gzip me"
    with pytest.raises(FetchError, match=r"Invalid response body while trying to fetch https://example\.com/bad"):
        await fetch("https://example.com/bad")


def test_runtime_reads_plugin_json() -> None:
    manifest = load_manifest(ROOT)
    original_keys = ["customerioSiteId", "customerioToken", "host", "identifyByEmail",
                     "sendEventsFromAnonymousUsers", "eventsToSend"]
    assert [f.key for f in manifest.config] == original_keys
    assert manifest.secret_keys == {"customerioSiteId", "customerioToken"}
    assert manifest.field("host").choices == ("track.customer.io", "track-eu.customer.io")
    engine = load_python_plugin(manifest.main_path, compat="original")
    assert engine.has_hook("setupPlugin") and engine.has_hook("onEvent") and engine.plugin.compat == "original"


def test_config_validation_messages() -> None:
    manifest = load_manifest(ROOT / "plugin.json")
    assert validate_config(manifest, {"customerioSiteId": "s", "customerioToken": "t"})["host"] == "track.customer.io"
    with pytest.raises(ConfigError) as caught:
        validate_config(manifest, {"customerioSiteId": "secret-site", "host": "eu", "nope": 1})
    message = str(caught.value)
    assert "customerioToken (Customer.io API Key) is required" in message
    assert "host='eu' is not allowed; choose one of: 'track.customer.io', 'track-eu.customer.io'" in message
    assert "unknown config key 'nope'" in message
    assert "secret-site" not in message


def test_bad_manifest_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "plugin.json").write_text(json.dumps({"name": "x", "main": "x.py", "config": [{"key": "k",
                                                                                             "type": "number"}]}))
    with pytest.raises(ManifestError, match="unknown type 'number'"):
        load_manifest(tmp_path)


class Scripted:
    """A plugin whose hooks fail as scripted, for lifecycle tests."""

    def __init__(self, setup: list[BaseException | None], events: list[BaseException | None]) -> None:
        self.setup, self.events, self.seen = list(setup), list(events), []

    async def setup_plugin(self, meta: Any) -> None:
        error = self.setup.pop(0) if self.setup else None
        if error:
            raise error

    async def on_event(self, event: dict[str, Any], meta: Any) -> None:
        event["mutated"] = True
        self.seen.append(dict(event))
        error = self.events.pop(0) if self.events else None
        if error:
            raise error


async def test_setup_retry_then_success_lets_events_through(make_meta) -> None:
    plugin = Scripted(setup=[RetryError("down"), None], events=[])
    meta = make_meta()
    host = PluginHost(PythonEngine(plugin), meta)
    first = await host.on_event({"event": "a"})
    assert first.ok and not host.ready  # the method runs although setup did not finish
    await asyncio.sleep(0)  # the scheduled retry (frozen clock: no real wait)
    await asyncio.sleep(0)
    assert host.ready and meta.clock.sleeps == [5.0]
    assert "setupPlugin failed with RetryError (attempt 1/5): down" in meta.console.entries[0].message


async def test_fatal_setup_disables_and_skips_events(make_meta) -> None:
    plugin = Scripted(setup=[js.JSError("bad key")], events=[])
    meta = make_meta()
    host = PluginHost(PythonEngine(plugin), meta)
    outcomes = [await host.on_event({"event": "a", "uuid": "u1"}), await host.on_event({"event": "b", "uuid": "u2"})]
    assert [o.status for o in outcomes] == ["skipped", "skipped"] and plugin.seen == []
    messages = [e.message for e in meta.console.entries]
    assert any("setupPlugin failed with Error: bad key" in m and "Disabled the app!" in m for m in messages)
    assert sum("Skipped event" in m for m in messages) == 2


async def test_five_setup_retry_errors_are_fatal(make_meta) -> None:
    plugin = Scripted(setup=[RetryError("down")] * 5, events=[])
    meta = make_meta()
    host = PluginHost(PythonEngine(plugin), meta)
    for _ in range(5):
        await host.setup()
    assert host.disabled and host.setup_attempts == 5


@pytest.mark.parametrize(
    ("policy", "errors", "status", "attempts", "sleeps"),
    [("posthog-2023", [RetryError("x")], "failed", 1, []),
     ("posthog-2022", [RetryError("x")] * 4, "ok", 5, [5.0, 10.0, 20.0, 40.0]),
     ("posthog-2022", [js.JSError("x")], "failed", 1, [])],
)
async def test_retry_policies(make_meta, policy, errors, status, attempts, sleeps) -> None:
    plugin = Scripted(setup=[], events=errors)
    meta = make_meta()
    host = PluginHost(PythonEngine(plugin), meta, retry=policy)
    outcome = await host.on_event({"event": "a"})
    assert (outcome.status, outcome.attempts, meta.clock.sleeps) == (status, attempts, sleeps)
    assert all("mutated" not in e or e == {"event": "a", "mutated": True} for e in plugin.seen)
    if status == "failed":
        assert meta.console.entries[-1].source == LogSource.PLUGIN


def test_reliable_backoff_honours_retry_after_and_cap() -> None:
    import random

    policy = Backoff(max_attempts=4, base=1.0, cap=8.0, rng=random.Random(1))
    error = RetryError("x")
    assert all(0 <= policy.delay(n, error, []) <= min(8.0, 2 ** (n - 1)) for n in range(1, 4))
    assert policy.delay(4, error, []) is None
    assert policy.delay(1, js.JSError("x"), []) is None
    throttled = FetchCall("PUT", "u", {}, None, status=429, response_headers=httpx.Headers({"Retry-After": "30"}))
    assert policy.delay(1, error, [throttled]) == 30.0
    with pytest.raises(ValueError, match="unknown retry policy 'sometimes'"):
        retry_policy("sometimes")


async def test_task_timeout_stops_a_hung_call(make_meta) -> None:
    class Hangs:
        async def on_event(self, event: Any, meta: Any) -> None:
            await asyncio.Event().wait()

    result = await invoke(PythonEngine(Hangs()), "onEvent", ({},), make_meta(), timeout=0.05)
    assert not result.ok and result.retryable
    assert str(result.error).startswith("TimeoutError: Script execution timed out after promise waited for")
