"""Load and onEvent latency of the JavaScript engine and the Python port. Prints figures.

    python bench/engines.py [--js-plugin PATH] [--events N]

PATH defaults to $CIO_JS_PLUGIN, else to our JavaScript twin of the webhook plugin
(fixtures/plugins/webhook), compared with its Python twin. With the Customer.io original,
the Python side is the port. HTTP is answered in process (no sockets), so the figures are
the engines' own cost. Targets (issue 3): cold load under 1 s, cached load under 150 ms,
warm JavaScript onEvent under 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugin.jsengine import JavaScriptEngine, load_source  # noqa: E402
from plugin.jsengine import transpile as transpile_module  # noqa: E402
from plugin.replay import ScriptedTransport  # noqa: E402
from plugin.runtime import Cache, Console, Fetch, FrozenClock, MemoryBackend, Meta, Storage  # noqa: E402
from plugin.runtime.engine import Engine, invoke, load_python_plugin  # noqa: E402

WEBHOOK = ROOT / "fixtures" / "plugins" / "webhook"


def events(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        person = f"user-{i % 500}"
        props = {"$browser": "Firefox", "$current_url": f"https://app.example.com/p/{i}", "plan": "pro", "n": i}
        if i % 3 == 0:
            props["$set"] = {"email": f"{person}@example.com", "name": f"User {i % 500}"}
        event = {"event": "$identify" if i % 10 == 0 else "clicked", "distinct_id": person, "team_id": 2,
                 "ip": None, "uuid": f"0188-{i}", "timestamp": "2024-05-01T10:00:00.000Z", "properties": props}
        if "$set" in props:
            event["$set"] = props["$set"]
        out.append(event)
    return out


def meta(transport: httpx.AsyncBaseTransport, config: dict[str, Any]) -> Meta:
    clock = FrozenClock(1_714_557_600_000)
    return Meta(config=config, storage=Storage(MemoryBackend()), cache=Cache(clock=clock),
                console=Console(clock.now_ms), fetch=Fetch(transport), clock=clock)


async def latency(engine: Engine, config: dict[str, Any], n: int) -> list[float]:
    async with ScriptedTransport() as transport:
        m = meta(transport, config)
        await invoke(engine, "setupPlugin", (), m)
        samples = []
        for event in events(n):
            start = time.perf_counter()
            result = await invoke(engine, "onEvent", (event,), m)
            samples.append((time.perf_counter() - start) * 1000)
            if not result.ok:
                raise SystemExit(f"onEvent failed: {result.error}")
        return samples


def show(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    warm = ordered[: int(len(ordered) * 0.99) or 1]
    print(f"  {label:<34} mean {statistics.fmean(samples):7.3f} ms   p50 {ordered[len(ordered) // 2]:7.3f} ms   "
          f"p99 {warm[-1]:7.3f} ms   ({len(samples)} events)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--js-plugin", default=os.environ.get("CIO_JS_PLUGIN") or str(WEBHOOK))
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    source = load_source(args.js_plugin)
    customerio = Path(args.js_plugin).resolve() != WEBHOOK.resolve()
    config = ({"customerioSiteId": "site", "customerioToken": "key"} if customerio
              else {"host": "hooks.example.com", "token": "t"})
    python_plugin = "plugin.customerio" if customerio else str(ROOT / "fixtures" / "plugins" / "webhook.py")
    print(f"JavaScript plugin: {source.origin}   Python plugin: {python_plugin}")

    with tempfile.TemporaryDirectory() as cache:
        os.environ["CIO_PLUGIN_CACHE"] = cache
        print("load")
        start = time.perf_counter()
        engine = await JavaScriptEngine.load(source)
        cold = time.perf_counter() - start
        await engine.close()
        cached = []
        for _ in range(5):
            transpile_module._memory.clear()  # read from disk, as a new process would
            start = time.perf_counter()
            engine = await JavaScriptEngine.load(source)
            cached.append(time.perf_counter() - start)
            await engine.close()
        print(f"  JavaScript, cold (transpile)       {cold * 1000:7.1f} ms   target < 1000 ms")
        print(f"  JavaScript, from the disk cache    {statistics.median(cached) * 1000:7.1f} ms   target <  150 ms "
              f"(median of 5)")
        start = time.perf_counter()
        options = {"compat": "safe"} if customerio else {}
        python_engine = load_python_plugin(python_plugin, **options)
        print(f"  Python port                        {(time.perf_counter() - start) * 1000:7.1f} ms")

        print("warm onEvent (after 200 warm-up events)")
        engine = await JavaScriptEngine.load(source)
        await latency(engine, config, 200)
        show("JavaScript engine", await latency(engine, config, args.events))
        await engine.close()
        await latency(python_engine, config, 200)
        show("Python", await latency(python_engine, config, args.events))
    print("target: JavaScript onEvent mean < 5 ms")


if __name__ == "__main__":
    asyncio.run(main())
