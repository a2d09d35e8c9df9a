"""httpx transports for the main job's real target (Customer.io, over TLS): httpx's own pools,
several small ones side by side, and a request-rate cap. The emulator's is `plugin/http1.py`."""

from __future__ import annotations

import asyncio
import math

import httpx

# httpcore's pool gets slower as more requests wait on it (it rescans every waiting request
# against every connection on each change): several small pools behind one fetch keep the
# cost per request flat. Measured here: one pool of 64 ~195 requests/s, 8 pools of 8 ~840.
CONNECTIONS_PER_POOL = 8


class PoolShards(httpx.AsyncBaseTransport):
    """Connections in pools of CONNECTIONS_PER_POOL; each request goes to the least busy pool."""

    def __init__(self, connections: int) -> None:
        count = max(1, math.ceil(connections / CONNECTIONS_PER_POOL))
        size = min(connections, CONNECTIONS_PER_POOL)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        tls = httpx.create_ssl_context()  # one context: loading the CA bundle costs ~40 ms each
        self.pools = [httpx.AsyncHTTPTransport(verify=tls, limits=limits, retries=0) for _ in range(count)]
        self.busy = [0] * count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self.pools)), key=self.busy.__getitem__)
        self.busy[index] += 1
        try:
            response = await self.pools[index].handle_async_request(request)
            # The body is read by the client after this returns; it is on the same connection,
            # so the pool stays counted busy only while the request waits for headers.
            return response
        finally:
            self.busy[index] -= 1

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()


class RateLimited(httpx.AsyncBaseTransport):
    """At most `per_second` requests per second (evenly spaced) through `inner`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, per_second: float) -> None:
        self.inner = inner
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with self._lock:
            loop = asyncio.get_running_loop()
            wait = self._next - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next = max(loop.time(), self._next) + self.interval
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
