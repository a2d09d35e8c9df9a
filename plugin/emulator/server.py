"""The emulator as a real HTTP server on loopback (aiohttp), with fault injection, and the
httpx transport that sends the Customer.io hosts to it so plugin code stays unchanged."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import httpx
from aiohttp import web

from ..http1 import HTTP1Transport
from .track_api import HOSTS, TrackApi


@dataclass
class Faults:
    """What the emulator does wrong, on purpose: rates are per request, 0 to 1."""

    error_rate: float = 0.0  # 500 with a JSON body
    throttle_rate: float = 0.0  # 429 with Retry-After
    retry_after: float = 1.0
    drop_rate: float = 0.0  # the connection is closed without an answer
    latency_ms: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "throttle_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        self.random = random.Random(self.seed)


class Emulator:
    """`async with Emulator(api) as emulator:` serves `api` on 127.0.0.1:`emulator.port`."""

    def __init__(self, api: TrackApi, faults: Faults | None = None, *, host: str = "127.0.0.1", port: int = 0):
        self.api = api
        self.faults = faults or Faults()
        self.host = host
        self.port = port
        self.requests = 0
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        body = await request.read()
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        roll = faults.random.random()
        if roll < faults.drop_rate:
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("dropped by the emulator")
        roll -= faults.drop_rate
        if roll < faults.error_rate:
            return web.json_response({"meta": {"error": "internal error (injected)"}}, status=500)
        roll -= faults.error_rate
        if roll < faults.throttle_rate:
            return web.json_response({"meta": {"error": "rate limited (injected)"}}, status=429,
                                     headers={"Retry-After": f"{faults.retry_after:g}"})
        host = request.host.split(":")[0]  # the Customer.io host it was meant for: all are served here
        answer = self.api.handle(request.method, host, request.raw_path, request.headers.get("Authorization"), body)
        return web.Response(status=answer.status, text=answer.text, content_type="application/json")


class RouteToEmulator(httpx.AsyncBaseTransport):
    """Sends requests for the Customer.io hosts to the emulator, over up to `connections`
    keep-alive connections; anything else is refused, so a run against the emulator can never
    reach the internet. The request itself is left as the plugin made it (URL, Host header)."""

    def __init__(self, emulator_url: str, connections: int = 64) -> None:
        target = httpx.URL(emulator_url)
        self.inner = HTTP1Transport(connections, connect_to=(target.host, target.port or 80))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in HOSTS:
            raise httpx.ConnectError(f"{request.url.host} is not a Customer.io host (the emulator only serves those)",
                                     request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
