"""The pytest plugin (entry point `pytest11: cio_plugin`): fixtures for testing PostHog
plugins on the real runtime, on either engine.

Fixtures: `plugin_runtime` (load a plugin, get a PluginRuntime), `plugin_meta` (a bare
`meta`), `fake_customerio` (a fake Track API on pytest-httpx), `plugin_engine` ("python",
or "js" in the second run of a test marked `both_engines`). Option `--js-plugin PATH`
(or $CIO_JS_PLUGIN) names the JavaScript plugin those second runs load.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

try:
    import httpx
    import pytest_asyncio
    from pytest_httpx import HTTPXMock
except ImportError:  # the toolkit needs cio-plugin[testing]; without it, stay out of the way
    pytest_asyncio = None

JS_PLUGIN_ENV = "CIO_JS_PLUGIN"
ENGINES = ("python", "js")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cio-plugin", "PostHog plugin testing (cio-plugin)")
    group.addoption("--js-plugin", metavar="PATH", default=None,
                    help=f"JavaScript plugin for tests marked both_engines (default: ${JS_PLUGIN_ENV})")
    group.addoption("--plugin-tz", metavar="ZONE", default="UTC",
                    help="local time zone for plugin runtimes (default: UTC)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_engines: run the test on the Python plugin and again on the JavaScript plugin")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "plugin_engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_engines"):
        metafunc.parametrize("plugin_engine", ENGINES, indirect=True)


if pytest_asyncio is not None:
    from ..js.dates import pinned_time_zone
    from ..runtime import Meta
    from ..runtime.engine import load_python_plugin
    from .fake_customerio import HOSTS, FakeCustomerIo
    from .runtime import DEFAULT_NOW_MS, PluginRuntime, make_meta

    @pytest.fixture
    def plugin_engine(request: pytest.FixtureRequest) -> str:
        """Which engine this run of the test uses: "python", or "js" (tests marked both_engines)."""
        return getattr(request, "param", "python")

    @pytest.fixture
    def plugin_time_zone(request: pytest.FixtureRequest) -> Any:
        zone = request.config.getoption("plugin_tz")
        # V8 reads the process's TZ; the Python side pins it per context.
        os.environ["TZ"] = zone
        time.tzset()
        with pinned_time_zone(zone):
            yield zone

    @pytest_asyncio.fixture
    async def plugin_transport(httpx_mock: HTTPXMock) -> AsyncIterator[httpx.AsyncBaseTransport]:
        """The plugin's HTTP transport; pytest-httpx answers it, so nothing leaves the process."""
        async with httpx.AsyncHTTPTransport() as transport:
            yield transport

    @pytest.fixture
    def plugin_meta(plugin_transport: httpx.AsyncBaseTransport, plugin_time_zone: str) -> Callable[..., Meta]:
        """`plugin_meta(config, storage=..., attachments=..., now_ms=...)`: a fresh meta."""

        def make(config: Mapping[str, Any] | None = None, **options: Any) -> Meta:
            return make_meta(plugin_transport, config, **options)

        return make

    @pytest_asyncio.fixture
    async def plugin_runtime(
        request: pytest.FixtureRequest, plugin_engine: str, plugin_transport: httpx.AsyncBaseTransport,
        plugin_time_zone: str,
    ) -> AsyncIterator[Callable[..., Awaitable[PluginRuntime]]]:
        """`await plugin_runtime(python, js=..., config=..., storage=..., now_ms=..., **options)`.

        `python` is a module name or .py path (options go to its `create_plugin`); `js` is
        the JavaScript twin (default: --js-plugin / $CIO_JS_PLUGIN), used when the test
        runs on the "js" engine.
        """
        made: list[PluginRuntime] = []

        async def make(
            python: str | Path | None = None, *, js: str | Path | None = None,
            config: Mapping[str, Any] | None = None, storage: Mapping[str, Any] | None = None,
            attachments: Mapping[str, Any] | None = None, now_ms: float = DEFAULT_NOW_MS, **options: Any,
        ) -> PluginRuntime:
            if plugin_engine == "js":
                from ..jsengine import JavaScriptEngine

                source = js or request.config.getoption("js_plugin") or os.environ.get(JS_PLUGIN_ENV)
                if not source:
                    pytest.skip(f"no JavaScript plugin given (--js-plugin PATH or ${JS_PLUGIN_ENV})")
                engine: Any = await JavaScriptEngine.load(source)
            else:
                if python is None:
                    raise ValueError("plugin_runtime needs the Python plugin: a module name or a .py path")
                engine = load_python_plugin(python, **options)
            meta = make_meta(plugin_transport, config, storage=storage, attachments=attachments, now_ms=now_ms)
            runtime = PluginRuntime(engine, meta)
            made.append(runtime)
            return runtime

        yield make
        for runtime in made:
            await runtime.close()

    @pytest.fixture
    def fake_customerio(httpx_mock: HTTPXMock) -> FakeCustomerIo:
        """A fake Customer.io Track API for every request to its hosts; `.config` has its credentials."""
        fake = FakeCustomerIo()
        httpx_mock.add_callback(fake.handle, url=HOSTS, is_optional=True, is_reusable=True)
        return fake
