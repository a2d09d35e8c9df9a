"""Replay conformance scenarios: a frozen clock, scripted HTTP answers, one trace each.

The format is the one of the shared conformance set (fixtures/conformance/README.md):
setupPlugin once, then onEvent for every event, whatever the earlier steps returned.
The engine is a parameter, so the Python port and the original JavaScript plugin are
replayed by the same code.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import js
from .runtime import Cache, Console, Fetch, FrozenClock, MemoryBackend, Meta, RetryError, Storage
from .runtime.engine import CallResult, Engine, invoke
from .runtime.errors import error_message, error_name

# A factory may be async: the JavaScript engine is created on the loop that runs it.
EngineFactory = Callable[[], Engine | Awaitable[Engine]]


class ScenarioError(ValueError):
    """A scenario file that does not follow the documented format."""


@dataclass
class ResponseRule:
    path_contains: str = ""
    method: str | None = None
    times: int | None = None
    status: int = 200
    body: str = ""
    network_error: str | None = None
    used: int = 0

    def matches(self, method: str, url: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.times is not None and self.used >= self.times:
            return False
        return self.path_contains in url


class ScriptedTransport(httpx.AsyncBaseTransport):
    """Answers from the active rules; never touches the network.

    Rules match on the URL string the plugin passed to fetch (before normalisation).
    With no matching rule the answer is 200 with body `{}`.
    """

    def __init__(self, rules: list[ResponseRule] | None = None) -> None:
        self.rules = list(rules or [])

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.extensions.get("fetch_url", str(request.url))
        for rule in self.rules:
            if rule.matches(request.method, url):
                rule.used += 1
                if rule.network_error is not None:
                    raise httpx.ConnectError(rule.network_error, request=request)
                return httpx.Response(rule.status, content=rule.body.encode("utf-8"), request=request)
        return httpx.Response(200, content=b"{}", request=request)


@dataclass
class Scenario:
    name: str
    now_ms: float
    config: dict[str, Any]
    storage: dict[str, Any]
    responses: list[dict[str, Any]]
    events: list[dict[str, Any]] = field(default_factory=list)


def _rule(raw: Any, where: str) -> ResponseRule:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a response rule must be an object, got {js.typeof(raw)}")
    expected = {"path_contains": str, "method": str, "times": int, "status": int, "body": str, "network_error": str}
    for key, value in raw.items():
        kind = expected.get(key)
        if kind is None:
            raise ScenarioError(f"{where}: unknown key {key!r} (allowed: {', '.join(expected)})")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ScenarioError(f"{where}: {key!r} must be a {kind.__name__}, got {value!r}")
    if "network_error" not in raw and "status" not in raw:
        raise ScenarioError(f"{where}: a response rule needs 'status' or 'network_error'")
    return ResponseRule(**raw)


def _rules(raw: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ScenarioError(f"{where}: 'responses' must be a list")
    for i, item in enumerate(raw):
        _rule(item, f"{where}[{i}]")
    return raw


def parse_scenarios(text: str, source: str = "scenarios") -> list[Scenario]:
    """Parse and check a scenario file (JSON, read with JavaScript's number semantics)."""
    try:
        data = js.json.parse(text)
    except js.JSSyntaxError as error:
        raise ScenarioError(f"{source}: not valid JSON: {error.message}") from None
    if not isinstance(data, list):
        raise ScenarioError(f"{source}: the top level must be a list of scenarios")
    scenarios = []
    for index, raw in enumerate(data):
        where = f"{source}: scenario #{index}"
        if not isinstance(raw, dict):
            raise ScenarioError(f"{where}: must be an object")
        name = raw.get("name")
        if not isinstance(name, str):
            raise ScenarioError(f"{where}: 'name' must be a string")
        where = f"{source}: scenario #{index} ({name})"
        for key, kind in (("config", dict), ("events", list)):
            if not isinstance(raw.get(key), kind):
                raise ScenarioError(f"{where}: '{key}' must be {'an object' if kind is dict else 'a list'}")
        now_ms = raw.get("now_ms")
        if not js.is_number(now_ms):
            raise ScenarioError(f"{where}: 'now_ms' must be a number")
        storage = raw.get("storage", {})
        if not isinstance(storage, dict):
            raise ScenarioError(f"{where}: 'storage' must be an object")
        responses = _rules(raw.get("responses", []), f"{where}: responses")
        for i, step in enumerate(raw["events"]):
            if not isinstance(step, dict) or not isinstance(step.get("event"), dict):
                raise ScenarioError(f"{where}: events[{i}] must be an object with an 'event' object")
            if "responses" in step:
                _rules(step["responses"], f"{where}: events[{i}].responses")
        scenarios.append(Scenario(name, now_ms, raw["config"], storage, responses, raw["events"]))
    return scenarios


def _step(kind: str, result: CallResult) -> dict[str, Any]:
    step: dict[str, Any] = {"step": kind, "ok": result.ok}
    if not result.ok and result.error is not None:
        step["error"] = {
            "type": error_name(result.error),
            "retry": isinstance(result.error, RetryError),
            "message": error_message(result.error),
        }
    step["requests"] = [call.to_trace() for call in result.calls]
    return step


async def replay_scenario(scenario: Scenario, engine_factory: EngineFactory) -> dict[str, Any]:
    clock = FrozenClock(scenario.now_ms)
    transport = ScriptedTransport([ResponseRule(**rule) for rule in scenario.responses])
    async with transport:
        storage = Storage(MemoryBackend())
        storage.load(scenario.storage)
        console = Console(clock.now_ms)
        meta = Meta(
            config=copy.deepcopy(scenario.config),
            storage=storage,
            cache=Cache(clock=clock),
            console=console,
            fetch=Fetch(transport),
            clock=clock,
        )
        made = engine_factory()
        engine = await made if inspect.isawaitable(made) else made
        try:
            setup = _step("setup", await invoke(engine, "setupPlugin", (), meta))
            setup["logs"] = [[entry.type.name.lower(), [entry.message]] for entry in console.entries]
            steps = [setup]
            for item in scenario.events:
                if "responses" in item:
                    transport.rules = [ResponseRule(**rule) for rule in item["responses"]]
                event = copy.deepcopy(item["event"])
                steps.append(_step("onEvent", await invoke(engine, "onEvent", (event,), meta)))
        finally:
            await engine.close()
    return {"name": scenario.name, "steps": steps, "storage": storage.snapshot()}


async def replay(scenarios: list[Scenario], engine_factory: EngineFactory, *, time_zone: str = "UTC") -> list[Any]:
    """Replay every scenario, each on a fresh engine, with local time in `time_zone`."""
    with js.dates.pinned_time_zone(time_zone):
        return [await replay_scenario(scenario, engine_factory) for scenario in scenarios]
