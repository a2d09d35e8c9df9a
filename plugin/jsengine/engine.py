"""The JavaScript engine: a plugin-server plugin in embedded V8, behind the same Engine
interface as Python plugins.

One V8 isolate per engine, created on the event loop that uses it. sandbox.js gives the
plugin its globals and modules; everything with a side effect comes back here as a
message and is served by the same runtime objects a Python plugin uses (meta.storage,
meta.cache, meta.fetch, meta.console), so both engines are measured by the same host.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from .. import js
from ..runtime.clock import FrozenClock
from ..runtime.console import LogLevel, LogSource
from ..runtime.engine import TASK_TIMEOUT_SECONDS
from ..runtime.errors import error_message, error_name
from ..runtime.fetch import CallRecord, current_call
from ..runtime.meta import Meta
from .errors import MemoryLimitError, PluginError, PluginLoadError, from_js
from .source import PluginSource, load_source
from .transpile import transpile

SANDBOX = Path(__file__).with_name("sandbox.js")
DEFAULT_MEMORY_LIMIT_BYTES = 256 * 1024 * 1024
# How often a waiting call checks whether V8 stopped the plugin for memory.
MEMORY_POLL_SECONDS = 0.05
DRAIN_SECONDS = 0.1
# V8 lets garbage grow its heap for a long time before a full collection: on a long run the
# process grew ~8 MB per 5,000 events. A full collection every this many calls keeps it flat
# (measured: 40,000 events, peak RSS 223 -> 111 MB, no slower).
COLLECT_EVERY_CALLS = 1000


class JavaScriptEngine:
    """Runs a JavaScript/TypeScript plugin's hooks. Create it with `await JavaScriptEngine.load(path)`."""

    name = "javascript"

    def __init__(self, source: PluginSource, *, memory_limit: int, loop_limit: float) -> None:
        self.source = source
        self.memory_limit = memory_limit
        self.loop_limit = loop_limit
        self.hooks: frozenset[str] = frozenset()
        self.captured: list[dict[str, Any]] = []  # posthog.capture calls, in order
        self._v8: Any = None
        self._requests: set[asyncio.Task[None]] = set()
        self._exit = contextlib.AsyncExitStack()
        self._meta: Meta | None = None
        self._calls: dict[int, tuple[asyncio.Future[Any], CallRecord | None]] = {}
        self._call_ids = itertools.count(1)
        self._calls_ended = 0

    @classmethod
    async def load(
        cls,
        plugin: str | Path | PluginSource,
        *,
        memory_limit: int = DEFAULT_MEMORY_LIMIT_BYTES,
        loop_limit: float = TASK_TIMEOUT_SECONDS,
    ) -> JavaScriptEngine:
        """Load a plugin (directory, .zip, .ts/.js file) into a fresh isolate on the running loop."""
        if importlib.util.find_spec("py_mini_racer") is None:
            raise PluginLoadError(
                "the JavaScript engine needs mini-racer: install the JavaScript extra (pip install 'cio-plugin[js]')"
            )
        source = plugin if isinstance(plugin, PluginSource) else load_source(plugin)
        # The compiler is slow and synchronous: keep it off the event loop.
        code = await asyncio.to_thread(transpile, source.code, source.filename)
        engine = cls(source, memory_limit=memory_limit, loop_limit=loop_limit)
        try:
            await engine._start(code)
        except BaseException:
            await engine.close()
            raise
        return engine

    async def _start(self, code: str) -> None:
        from py_mini_racer import MiniRacer

        self._v8 = MiniRacer()
        self._v8.set_hard_memory_limit(self.memory_limit)
        self._v8.eval(SANDBOX.read_text(encoding="utf-8"))
        install = self._v8.eval("__sandbox.install")
        install(self._exit.enter_context(self._channel()), js.json.stringify({"loopLimitSeconds": self.loop_limit}))
        try:
            exported = await asyncio.wait_for(self._enter("load", [code, self.source.filename]), self.loop_limit)
        except TimeoutError:
            raise PluginLoadError(f"{self.source.filename}: loading did not finish in {self.loop_limit:g} s") from None
        except (PluginError, MemoryLimitError) as error:
            raise PluginLoadError(f"{self.source.filename}: {error}") from None
        result = js.json.parse(exported)
        if "error" in result:
            raise PluginLoadError(f"{self.source.filename}: {result['error']['name']}: {result['error']['message']}")
        self.hooks = frozenset(result["hooks"])

    # ---- the Engine interface ---------------------------------------------------------
    def has_hook(self, hook: str) -> bool:
        return hook in self.hooks

    async def call(self, hook: str, args: tuple[Any, ...], meta: Meta) -> Any:
        if meta is not self._meta:
            await self._bind(meta)
        call_id = next(self._call_ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = (future, current_call.get())
        now = meta.clock.now_ms() if isinstance(meta.clock, FrozenClock) else None
        try:
            await self._enter("call", [call_id, hook, list(args), now])
            return await self._wait(future)
        except asyncio.CancelledError:
            await self._drain()
            raise
        finally:
            self._calls.pop(call_id, None)
            self._calls_ended += 1
            if self._calls_ended % COLLECT_EVERY_CALLS == 0 and self._v8 is not None:
                self._v8.low_memory_notification()

    async def close(self) -> None:
        for future, _ in self._calls.values():
            future.cancel()
        self._calls.clear()
        for task in list(self._requests):
            task.cancel()
        await self._exit.aclose()
        if self._v8 is not None:
            self._v8.close()
            self._v8 = None

    # ---- into JavaScript ------------------------------------------------------------
    async def _bind(self, meta: Meta) -> None:
        attachments = {
            key: {
                "content_type": item.get("content_type", "application/octet-stream"),
                "file_name": item.get("file_name", key),
                "contents": base64.b64encode(bytes(item.get("contents", b""))).decode("ascii"),
            }
            for key, item in meta.attachments.items()
        }
        await self._enter("bind", {"config": dict(meta.config), "attachments": attachments})
        self._meta = meta

    async def _enter(self, function: str, message: Any) -> Any:
        """Run one sandbox function; a runaway one is stopped when our caller gives up.

        One eval carrying one string literal is a single crossing into V8; calling a
        function object with arguments would cost a crossing per argument.
        """
        from py_mini_racer import JSEvalException

        literal = js.json.stringify(js.json.stringify(message))
        try:
            return await self._v8.eval_cancelable(f'__sandbox.enter("{function}", {literal})')
        except JSEvalException as error:
            # V8 stopped the code without a JavaScript exception ("null"): only the memory
            # limit does that, and its flag may not be visible yet.
            terminated = str(error).strip() == "null"
            raise self._stopped(terminated) or PluginError("Error", str(error)) from None

    async def _drain(self) -> None:
        """Deliver console lines of a call that timed out (unless V8 is still busy with it)."""
        with contextlib.suppress(Exception):
            batch = await asyncio.wait_for(self._v8.eval_cancelable("__sandbox.drain()"), DRAIN_SECONDS)
            for message in js.json.parse(batch):
                self._on_message(message)

    def _stopped(self, terminated: bool = False) -> MemoryLimitError | None:
        if self._v8 is None or not (terminated or self._v8.was_hard_memory_limit_reached()):
            return None
        # Re-arm the limit and let V8 reclaim what the plugin left behind.
        self._v8.set_hard_memory_limit(self.memory_limit)
        self._v8.low_memory_notification()
        return MemoryLimitError(f"the plugin used more than {self.memory_limit // (1024 * 1024)} MB of memory")

    async def _wait(self, future: asyncio.Future[Any]) -> Any:
        while True:
            done, _ = await asyncio.wait({future}, timeout=MEMORY_POLL_SECONDS)
            if done:
                return future.result()
            stopped = self._stopped()
            if stopped is not None:
                raise stopped

    # ---- out of JavaScript: the host side of sandbox.js ---------------------------------
    @contextlib.contextmanager
    def _channel(self) -> Iterator[Any]:
        """A JavaScript function that hands one string to `_on_message`, in call order.

        mini-racer's public `wrap_py_function` costs about ten thread round trips per call
        (arguments array, resolvers, promise); its one-way notification, which that API is
        built on, costs one. mini-racer is pinned (pyproject.toml) because of this.
        """
        context = self._v8._ctx

        def received(handle: Any) -> None:
            arguments = context._value_handle_to_python(handle)
            for message in js.json.parse(arguments[0]):
                self._on_message(message)

        with context._register_js_notification(received) as function:
            yield function

    def _on_message(self, message: list[Any]) -> None:
        request_id, op, payload = message
        if op == "done":
            self._finish(payload)
        elif op == "console":
            assert self._meta is not None
            level = LogLevel[payload["level"].upper()]
            self._meta.console.write(LogSource.CONSOLE, level, payload["message"])
        else:
            # Started now, so requests begin in the order the plugin made them.
            task = asyncio.ensure_future(self._answer(request_id, op, payload))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)

    async def _answer(self, request_id: int, op: str, payload: dict[str, Any]) -> None:
        entry = self._calls.get(int(payload.get("call", 0)))
        token = current_call.set(entry[1] if entry else None)
        try:
            value = await self._serve(op, payload)
            ok, answer = True, {"value": value}
        except Exception as error:  # the plugin sees it as a rejected promise
            ok, answer = False, {"name": error_name(error), "message": error_message(error)}
        finally:
            current_call.reset(token)
        if self._v8 is not None:
            with contextlib.suppress(Exception):  # the engine may be closing
                await self._enter("settle", [request_id, ok, answer])

    def _finish(self, payload: dict[str, Any]) -> None:
        entry = self._calls.get(int(payload["id"]))
        if entry is None or entry[0].done():
            return  # the call already timed out
        future = entry[0]
        if payload["ok"]:
            value = payload.get("value", js.UNDEFINED)
            future.set_result(None if value is js.UNDEFINED else js.json.parse(value))
        else:
            future.set_exception(from_js(payload["error"]))

    async def _serve(self, op: str, p: dict[str, Any]) -> Any:
        meta = self._meta
        assert meta is not None
        undefined = js.UNDEFINED
        match op:
            case "storage.get":
                return await meta.storage.get(p["key"], undefined)
            case "storage.set":
                return await meta.storage.set(p["key"], p.get("value", undefined))
            case "storage.del":
                return await meta.storage.delete(p["key"])
            case "cache.set":
                return await meta.cache.set(p["key"], p.get("value", undefined), p["ttlSeconds"] or None,
                                            json_serialize=p["json"])
            case "cache.get":
                return await meta.cache.get(p["key"], undefined, json_serialize=p["json"])
            case "cache.incr":
                return await meta.cache.incr(p["key"])
            case "cache.expire":
                return await meta.cache.expire(p["key"], p["ttlSeconds"])
            case "cache.lpush":
                return await meta.cache.lpush(p["key"], p.get("elements"))
            case "cache.lrange":
                return await meta.cache.lrange(p["key"], p.get("start"), p.get("end"))
            case "cache.llen":
                return await meta.cache.llen(p["key"])
            case "cache.lrem":
                return await meta.cache.lrem(p["key"], p.get("count"), p.get("element"))
            case "cache.lpop":
                return await meta.cache.lpop(p["key"], p.get("count"))
            case "fetch":
                response = await meta.fetch(p["url"], method=p["method"], headers=p["headers"], body=p["body"])
                return {
                    "status": response.status,
                    "statusText": httpx.codes.get_reason_phrase(response.status),
                    "headers": [list(item) for item in response.headers.multi_items()],
                    "body": await response.text(),
                    "url": response.url,
                }
            case "capture":
                self.captured.append({"event": p["event"], "properties": p["properties"]})
                return undefined
        raise PluginError("Error", f"unknown host operation {op!r}")
