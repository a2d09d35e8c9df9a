"""The JavaScript engine, on test plugins of our own (fixtures/js_plugins/).

They exercise the sandbox a plugin-server plugin expects: storage, cache, fetch, console,
Buffer, URL, global, RetryError vs Error, bad imports, syntax errors and runaway code.
"""

from __future__ import annotations

import asyncio
import json
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from plugin.jsengine import JavaScriptEngine, MemoryLimitError, PluginError, PluginLoadError, PluginRetryError
from plugin.jsengine import transpile as transpile_module
from plugin.jsengine.engine import COLLECT_EVERY_CALLS
from plugin.runtime import Meta, RetryError
from plugin.runtime.console import LogLevel, LogSource
from plugin.runtime.engine import invoke
from plugin.runtime.errors import TaskTimeoutError
from plugin.runtime.host import PluginHost

from .conftest import NOW_MS

PLUGINS = Path(__file__).resolve().parent.parent / "fixtures" / "js_plugins"
PROBE = PLUGINS / "probe"
TWIN = PLUGINS.parent / "plugins" / "webhook"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIO_PLUGIN_CACHE", str(tmp_path / "transpiled"))


@pytest.fixture
async def probe() -> AsyncIterator[JavaScriptEngine]:
    engine = await JavaScriptEngine.load(PROBE, memory_limit=64 * 1024 * 1024, loop_limit=0.5)
    yield engine
    await engine.close()


@pytest.fixture
def meta(make_meta: Callable[..., Meta]) -> Meta:
    return make_meta(config={"greeting": "hi"})


async def run(engine: JavaScriptEngine, meta: Meta, name: str, timeout: float = 5, **properties: Any) -> Any:
    return await asyncio.wait_for(engine.call("onEvent", ({"event": name, "properties": properties},), meta), timeout)


async def test_hooks_are_what_the_module_exports(probe: JavaScriptEngine) -> None:
    assert probe.has_hook("setupPlugin") and probe.has_hook("onEvent")
    assert not probe.has_hook("teardownPlugin")


async def test_storage_round_trips_json_and_deletes(probe: JavaScriptEngine, meta: Meta) -> None:
    result = await run(probe, meta, "storage", value={"x": [1, 2.5, "é"]})
    assert result == {"stored": {"x": [1, 2.5, "é"]}, "afterDelete": "default"}  # `missing` is undefined
    assert meta.storage.snapshot() == {"kept": {"nested": [1, "two", None]}}


async def test_every_cache_operation(probe: JavaScriptEngine, meta: Meta) -> None:
    result = await run(probe, meta, "cache")
    assert result == {
        "json": {"a": 1}, "raw": "text", "fallback": "fallback", "counter": [1, 2], "expired": True,
        "range": ["c", "b", "a"], "length": 3, "removed": 1, "popped": ["c"],
    }


@pytest.mark.parametrize("status", [200, 204, 301, 404, 429, 503])
async def test_fetch_answers_of_every_status_class(
    probe: JavaScriptEngine, meta: Meta, httpx_mock: HTTPXMock, status: int
) -> None:
    httpx_mock.add_response(url="https://api.example.com/x", status_code=status, text=f"answer {status}",
                            headers={"Content-Type": "text/plain"})
    result = await run(probe, meta, "fetch", url="https://api.example.com/x")
    assert result == {"status": status, "ok": 200 <= status < 300, "text": f"answer {status}", "type": "text/plain"}
    request = httpx_mock.get_request()
    assert request.method == "POST"
    assert request.headers["x-count"] == "3"
    assert request.content == '{"hello":"wörld"}'.encode()


async def test_fetch_network_error_is_node_fetch_error(
    probe: JavaScriptEngine, meta: Meta, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_exception(httpx.ConnectError("connect ECONNREFUSED 127.0.0.1:9"))
    result = await run(probe, meta, "fetch", url="https://down.example.com/")
    assert result == {
        "name": "FetchError",
        "message": "request to https://down.example.com/ failed, reason: connect ECONNREFUSED 127.0.0.1:9",
        "type": "system",
    }


async def test_fetch_calls_are_recorded_for_the_call_that_made_them(
    probe: JavaScriptEngine, meta: Meta, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url="https://api.example.com/y", text="{}")
    result = await invoke(probe, "onEvent", ({"event": "fetch", "properties": {"url": "https://api.example.com/y"}},),
                          meta)
    assert result.ok
    assert [(c.method, c.url, c.headers, c.status) for c in result.calls] == [
        ("POST", "https://api.example.com/y", {"Content-Type": "application/json", "X-Count": "3"}, 200)
    ]


async def test_response_json_of_a_non_json_body_is_a_syntax_error(
    probe: JavaScriptEngine, meta: Meta, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url="https://api.example.com/html", status_code=502, text="<html>bad</html>")
    with pytest.raises(PluginError) as caught:
        await run(probe, meta, "json", url="https://api.example.com/html")
    assert caught.value.name == "SyntaxError"
    assert caught.value.message == 'Unexpected token \'<\', "<html>bad</html>" is not valid JSON'


async def test_retry_error_reaches_the_host_as_a_retry(probe: JavaScriptEngine, meta: Meta) -> None:
    result = await invoke(probe, "onEvent", ({"event": "retry"},), meta)
    assert not result.ok and result.retryable
    assert isinstance(result.error, PluginRetryError) and isinstance(result.error, RetryError)
    assert result.error.message == "try again later"
    assert "index.ts" in result.error.stack


async def test_other_errors_keep_their_name_message_and_stack(probe: JavaScriptEngine, meta: Meta) -> None:
    result = await invoke(probe, "onEvent", ({"event": "fail"},), meta)
    assert not result.ok and not result.retryable
    assert (result.error.name, result.error.message) == ("TypeError", "this is not right")
    assert result.error.stack.startswith("TypeError: this is not right\n    at fail (index.ts:")
    thrown = await invoke(probe, "onEvent", ({"event": "throwString"},), meta)
    assert (thrown.error.name, thrown.error.message) == ("Error", "a bare string")


async def test_console_goes_to_the_same_log_entries_as_python_plugins(probe: JavaScriptEngine, meta: Meta) -> None:
    await run(probe, meta, "console")
    entries = [(e.source, e.type, e.message) for e in meta.console.entries]
    assert entries == [
        (LogSource.CONSOLE, LogLevel.LOG, 'text 1.5 {"a":[1,2]} [3,"x"] null undefined true'),
        (LogSource.CONSOLE, LogLevel.INFO, "info line"),
        (LogSource.CONSOLE, LogLevel.WARN, "warn line"),
        (LogSource.CONSOLE, LogLevel.ERROR, "Error: boom"),
        (LogSource.CONSOLE, LogLevel.DEBUG, "debug line"),
    ]
    assert all(e.timestamp_ms == NOW_MS for e in meta.console.entries)


async def test_buffer(probe: JavaScriptEngine, meta: Meta) -> None:
    result = await run(probe, meta, "buffer", text="site:key ✓ \ud83d\ude00")
    assert result == {
        "base64": "c2l0ZTprZXkg4pyTIPCfmIA=", "hex": "736974653a6b657920e29c9320f09f9880",
        "back": "site:key ✓ \U0001f600", "length": 17, "btoa": "cGxhaW46dGV4dA==",
    }


async def test_global_lives_in_javascript_between_setup_and_events(probe: JavaScriptEngine, meta: Meta) -> None:
    await probe.call("setupPlugin", (), meta)
    assert await run(probe, meta, "global") == {"greeting": "hi, world", "events": 1}
    assert await run(probe, meta, "global") == {"greeting": "hi, world", "events": 2}


async def test_date_follows_the_host_clock(probe: JavaScriptEngine, meta: Meta) -> None:
    assert await run(probe, meta, "time") == {
        "now": NOW_MS, "iso": "2023-11-14T22:13:20.123Z", "parsed": 1709208000000,
    }


async def test_url_and_sandbox_globals(probe: JavaScriptEngine, meta: Meta) -> None:
    assert await run(probe, meta, "url", url="HTTPS://Track.Customer.io:443/a/./b/../c d?x=1 2#f") == \
        "https://track.customer.io/a/c%20d?x=1%202#f"
    # No timers and no Node globals; `require` is the module's own, as in CommonJS.
    assert await run(probe, meta, "sandbox") == {"setTimeout": "undefined", "process": "undefined",
                                                "require": "function"}
    assert await run(probe, meta, "config") == {"greeting": "hi"}


async def test_attachments_arrive_as_buffers(probe: JavaScriptEngine, make_meta: Callable[..., Meta]) -> None:
    meta = make_meta(config={})
    meta.attachments = {"mapping": {"content_type": "application/json", "file_name": "map.json",
                                    "contents": '{"a": "é"}'.encode()}}
    assert await run(probe, meta, "attachments") == {
        "mapping": {"name": "map.json", "type": "application/json", "text": '{"a": "é"}'}}


async def test_the_lifecycle_host_retries_a_javascript_retry_error(
    make_meta: Callable[..., Meta], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url="https://hooks.example.com/hook", status_code=503)
    httpx_mock.add_response(url="https://hooks.example.com/hook", status_code=200)
    engine = await JavaScriptEngine.load(TWIN)
    meta = make_meta(config={"host": "hooks.example.com", "token": "t0ken"})
    host = PluginHost(engine, meta, retry="posthog-2022")
    try:
        outcome = await host.on_event({"event": "paid", "distinct_id": "u1", "properties": {"amount": 3}})
    finally:
        await host.close()
        await engine.close()
    assert (outcome.status, outcome.attempts) == ("ok", 2)
    assert meta.clock.sleeps == [5.0]
    assert await meta.cache.get("retries") == 1 and meta.storage.snapshot() == {"sent/u1": 1}
    assert [e.message for e in meta.console.entries if e.source == LogSource.CONSOLE] == ["relayed paid for u1 (#1)"]


async def test_posthog_capture_is_recorded(probe: JavaScriptEngine, meta: Meta) -> None:
    await run(probe, meta, "capture")
    assert probe.captured == [{"event": "probe captured", "properties": {"from": "probe"}}]


@pytest.mark.parametrize("name", ["spin", "spinAfterAwait"])
async def test_endless_loops_are_stopped_and_the_engine_stays_usable(
    probe: JavaScriptEngine, meta: Meta, name: str
) -> None:
    with pytest.raises(PluginError, match=r"Script execution timed out after looping for 0.5 seconds on line \d+:\d+"):
        await run(probe, meta, name)
    assert await run(probe, meta, "config") == {"greeting": "hi"}


async def test_a_sync_endless_loop_is_cut_by_the_task_timeout(probe: JavaScriptEngine, meta: Meta) -> None:
    result = await invoke(probe, "onEvent", ({"event": "spin"},), meta, timeout=0.2)
    assert isinstance(result.error, TaskTimeoutError)
    assert await run(probe, meta, "config") == {"greeting": "hi"}


async def test_a_memory_bomb_is_stopped_and_the_engine_stays_usable(meta: Meta) -> None:
    # A loop limit far away, so that the memory limit is what stops the loop.
    engine = await JavaScriptEngine.load(PROBE, memory_limit=64 * 1024 * 1024, loop_limit=60)
    try:
        with pytest.raises(MemoryLimitError, match="more than 64 MB"):
            await run(engine, meta, "memory", timeout=60)
        assert await run(engine, meta, "config") == {"greeting": "hi"}
    finally:
        await engine.close()


async def test_garbage_does_not_pile_up_over_many_calls(tmp_path: Path, meta: Meta) -> None:
    plugin = tmp_path / "garbage.js"
    # Held across a storage call (a crossing into Python), the junk lives long enough to reach
    # V8's old generation, which is what grew on long runs of the original plugin.
    plugin.write_text("exports.onEvent = async (event, { storage }) => {\n"
                      "  const junk = []\n"
                      "  for (let i = 0; i < 2000; i++) junk.push({ i, text: 'x'.repeat(64) + i })\n"
                      "  await storage.get('k', null)\n"
                      "  await storage.get('k', null)\n"
                      "  return junk.length\n"
                      "}\n")
    engine = await JavaScriptEngine.load(plugin)
    try:
        for _ in range(3 * COLLECT_EVERY_CALLS):
            result = await invoke(engine, "onEvent", ({"event": "e"},), meta)
            assert result.ok, result.error
        heap = engine._v8.heap_stats()["total_heap_size"]
    finally:
        await engine.close()
    assert heap < 16 * 1024 * 1024, f"V8 heap {heap / 1048576:.0f} MB after {3 * COLLECT_EVERY_CALLS} calls"


async def test_a_promise_that_never_resolves_times_out(probe: JavaScriptEngine, meta: Meta) -> None:
    result = await invoke(probe, "onEvent", ({"event": "hang"},), meta, timeout=0.3)
    assert isinstance(result.error, TaskTimeoutError)
    assert "0.3 seconds" in str(result.error)
    assert await run(probe, meta, "config") == {"greeting": "hi"}


async def test_plain_commonjs_plugin_with_require(make_meta: Callable[..., Meta], httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://collector.example/collect?n=1", text="ok")
    httpx_mock.add_response(url="https://collector.example/collect?n=2", status_code=503)
    engine = await JavaScriptEngine.load(PLUGINS / "plain.js")
    try:
        meta = make_meta(config={"host": "collector.example"})
        first = await invoke(engine, "onEvent", ({"event": "x"},), meta)
        second = await invoke(engine, "onEvent", ({"event": "x"},), meta)
    finally:
        await engine.close()
    assert first.ok and first.value == 1
    assert second.retryable and second.error.message == "server said 503"
    assert meta.storage.snapshot() == {"seen": 2}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_import.js",
         "bad_import.js: Error: Cannot import 'kea'! This package is not provided by PostHog in plugins."),
        ("not_emulated_import.js", "not_emulated_import.js: Error: Cannot import 'crypto'! The plugin-server provides "
         "it, but this local runtime does not emulate it (available: @posthog/plugin-scaffold, node-fetch)."),
        ("syntax_error.ts", "syntax_error.ts:4:1: SyntaxError: '}' expected."),
        ("top_level_throw.js", "top_level_throw.js: Error: refusing to load"),
    ],
)
async def test_plugins_that_cannot_load_say_why(name: str, message: str) -> None:
    with pytest.raises(PluginLoadError) as caught:
        await JavaScriptEngine.load(PLUGINS / name)
    assert str(caught.value) == message


async def test_missing_plugin_and_bad_archive(tmp_path: Path) -> None:
    with pytest.raises(PluginLoadError, match="JavaScript plugin not found"):
        await JavaScriptEngine.load(tmp_path / "nowhere")
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(PluginLoadError, match="not a zip archive"):
        await JavaScriptEngine.load(tmp_path / "broken.zip")


async def test_loads_a_github_style_zip_archive(tmp_path: Path, meta: Meta) -> None:
    archive = tmp_path / "probe-main.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in PROBE.iterdir():
            zipped.write(file, f"probe-main/{file.name}")
        zipped.writestr("probe-main/docs/plugin.json", "{}")  # a deeper manifest is not the plugin's
    engine = await JavaScriptEngine.load(archive)
    try:
        assert engine.source.name == "Runtime probe"
        assert await run(engine, meta, "config") == {"greeting": "hi"}
    finally:
        await engine.close()


async def test_transpiled_code_is_cached_on_disk(
    tmp_path: Path, meta: Meta, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transpile_module, "_memory", {})
    engine = await JavaScriptEngine.load(PLUGINS / "plain.js")
    await engine.close()
    cached = list((tmp_path / "transpiled").glob("*.js"))
    assert len(cached) == 1 and "onEvent" in cached[0].read_text()

    def no_compiler(*_: Any) -> str:
        raise AssertionError("the compiler ran although the output was cached")

    monkeypatch.setattr(transpile_module, "_memory", {})
    monkeypatch.setattr(transpile_module, "_compile", no_compiler)
    engine = await JavaScriptEngine.load(PLUGINS / "plain.js")
    await engine.close()


async def test_loops_are_guarded_in_the_transpiled_code() -> None:
    code = transpile_module.transpile("for (const x of [1]) { label: while (x) break label }", "loops.js")
    assert code.count("__loopGuard(") == 2
    assert "__loopGuard(1, 0)" in code and "__loopGuard(1, 30)" in code


# The sandbox's URL normalises hosts only as far as plain DNS names, dotted IPv4 and
# already-canonical IPv6 go; IDNA, IPv4 shorthands (0x7f.1) and IPv6 compression are not
# emulated (fetch itself normalises in Python, fully: plugin/js/url.py).
URL_HOSTS_NOT_EMULATED = ("exämple.com", "0x7f.1", "1.2.3.4.", "[1:0:0:2:0:0:0:3]", "0300.0250.1", "256.1.1.1")


async def test_sandbox_url_matches_node_on_recorded_cases() -> None:
    from py_mini_racer import MiniRacer

    from plugin import js
    from plugin.jsengine.engine import SANDBOX

    recorded = json.loads((PLUGINS.parent / "whatwg_urls.json").read_text(encoding="utf-8"))["cases"]
    cases = [c for c in recorded if c["url"].split("/")[2] not in URL_HOSTS_NOT_EMULATED]
    assert len(cases) == 264
    with MiniRacer() as v8:
        v8.eval(SANDBOX.read_text(encoding="utf-8"))
        script = f"JSON.stringify({js.json.stringify([c['url'] for c in cases])}.map((s) => {{" \
                 "try { return new URL(s).href } catch (e) { return null } }))"
        hrefs = json.loads(v8.eval(script))
    assert [(c["url"], h) for c, h in zip(cases, hrefs, strict=True) if h != c["href"]] == []


async def test_without_the_compiler_package_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> Any:
        raise transpile_module.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(transpile_module.importlib.metadata, "distribution", missing)
    monkeypatch.setattr(transpile_module, "_memory", {})
    with pytest.raises(PluginLoadError, match=r"install the JavaScript extra \(pip install 'cio-plugin\[js\]'\)"):
        await JavaScriptEngine.load(PLUGINS / "plain.js")
