"""A lean HTTP/1.1 transport for httpx: keep-alive connections, one exchange at a time each.

httpcore (httpx's default transport) costs about 1 ms of CPU per request here, most of it in
its generic machinery (anyio, h11, pool bookkeeping); the main job makes two requests per event,
so that cost alone held it under 350 events/s. This transport does only what a plugin's fetch
needs, on asyncio's own protocol callbacks: one request on one connection, the response framed
by Content-Length, chunked encoding or the end of the connection, the connection kept for the
next request when both sides allow it. Plain HTTP only: it carries the main job's traffic to the
emulator on loopback (`connect_to` sends every request to one address, whatever its URL says,
like curl's --connect-to). Errors are httpx's transport errors, with httpcore's messages.
"""

from __future__ import annotations

import asyncio
from collections import deque

import httpx

MAX_HEAD_BYTES = 64 * 1024
NO_BODY_STATUSES = frozenset({204, 304})


class _Exchange:
    """The response being read on a connection: an incremental HTTP/1.1 response parser."""

    def __init__(self, method: bytes) -> None:
        self.method = method
        self.buffer = bytearray()
        self.head: tuple[int, bytes, bytes, list[tuple[bytes, bytes]]] | None = None
        self.framing = ""  # "length", "chunked" or "close", once the head is in
        self.remaining = 0  # body bytes still due ("length"), or of the current chunk ("chunked")
        self.in_trailers = False
        self.body: list[bytes] = []
        self.done = asyncio.get_running_loop().create_future()
        self.received = False  # any byte of the response arrived

    def feed(self, data: bytes) -> None:
        self.received = True
        self.buffer += data
        try:
            self._advance()
        except httpx.RemoteProtocolError as error:
            self.fail(error)

    def eof(self) -> None:
        """The server closed the connection."""
        if self.done.done():
            return
        if self.framing == "close":
            self.body.append(bytes(self.buffer))
            self.buffer.clear()
            self._finish()
        elif not self.received:
            self.fail(httpx.RemoteProtocolError("Server disconnected without sending a response."))
        else:
            self.fail(httpx.RemoteProtocolError("peer closed connection without sending complete message body"))

    def fail(self, error: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(error)

    def _advance(self) -> None:
        while not self.done.done():
            if self.head is None:
                if not self._read_head():
                    return
            elif self.framing == "length":
                take = min(self.remaining, len(self.buffer))
                self.body.append(bytes(self.buffer[:take]))
                del self.buffer[:take]
                self.remaining -= take
                if self.remaining:
                    return
                self._finish()
            elif self.framing == "chunked":
                if not self._read_chunk():
                    return
            else:  # "close": the body is everything until the server closes
                return

    def _read_head(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise httpx.RemoteProtocolError("the response head is too long")
            return False
        lines = bytes(self.buffer[:end]).split(b"\r\n")
        del self.buffer[: end + 4]
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not (parts[1].isdigit() and len(parts[1]) == 3):
            raise httpx.RemoteProtocolError(f"malformed status line: {lines[0][:100]!r}")
        status = int(parts[1])
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise httpx.RemoteProtocolError(f"malformed header line: {line[:100]!r}")
            headers.append((name, value.strip(b" \t")))
        if 100 <= status < 200:  # an interim response (100 Continue): the real one follows
            return True
        self.head = (status, parts[0], parts[2] if len(parts) > 2 else b"", headers)
        self._frame(status, headers)
        return True

    def _frame(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        encodings = [v.lower() for k, v in headers if k.lower() == b"transfer-encoding"]
        lengths = {v for k, v in headers if k.lower() == b"content-length"}
        if self.method == b"HEAD" or status in NO_BODY_STATUSES:
            self.framing, self.remaining = "length", 0
        elif encodings:
            self.framing = "chunked" if encodings[-1].endswith(b"chunked") else "close"
        elif lengths:
            if len(lengths) > 1 or not next(iter(lengths)).isdigit():
                raise httpx.RemoteProtocolError(f"bad Content-Length: {b', '.join(sorted(lengths))!r}")
            self.framing, self.remaining = "length", int(next(iter(lengths)))
        else:
            self.framing = "close"

    def _read_chunk(self) -> bool:
        if self.remaining:  # inside a chunk's data (plus its CRLF)
            if len(self.buffer) < self.remaining + 2:
                return False
            if self.buffer[self.remaining : self.remaining + 2] != b"\r\n":
                raise httpx.RemoteProtocolError("a chunk does not end with CRLF")
            self.body.append(bytes(self.buffer[: self.remaining]))
            del self.buffer[: self.remaining + 2]
            self.remaining = 0
            return True
        end = self.buffer.find(b"\r\n")
        if end < 0:
            return False
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        if self.in_trailers:
            if not line:
                self._finish()
            return True
        size = line.split(b";", 1)[0].strip()
        try:
            self.remaining = int(size, 16)
        except ValueError:
            raise httpx.RemoteProtocolError(f"bad chunk size: {size[:20]!r}") from None
        if self.remaining == 0:
            self.in_trailers = True
        return True

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(b"".join(self.body))


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.exchange: _Exchange | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.exchange is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        self.exchange.feed(data)

    def eof_received(self) -> bool:
        self.closed = True
        if self.exchange is not None:
            self.exchange.eof()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.exchange is not None:
            if exc is None:
                self.exchange.eof()
            else:
                self.exchange.fail(httpx.ReadError(str(exc) or type(exc).__name__))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    @property
    def reusable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()


def _keep_alive(version: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    tokens = {t.strip().lower() for k, v in headers if k.lower() == b"connection" for t in v.split(b",")}
    if b"close" in tokens:
        return False
    return version == b"HTTP/1.1" or b"keep-alive" in tokens


class HTTP1Transport(httpx.AsyncBaseTransport):
    """Up to `max_connections` keep-alive HTTP/1.1 connections, reused newest first."""

    def __init__(self, max_connections: int = 64, *, connect_to: tuple[str, int] | None = None) -> None:
        self.max_connections = max_connections
        self.connect_to = connect_to
        self._slots: asyncio.Semaphore | None = None
        self._idle: dict[tuple[str, int], deque[_Connection]] = {}
        self._open: set[_Connection] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.connect_to is None and request.url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"this transport speaks plain HTTP only, not {request.url.scheme!r}")
        if self._slots is None:  # created on the loop that uses it
            self._slots = asyncio.Semaphore(self.max_connections)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        if self._slots.locked():  # all connections busy: wait, at most the pool timeout
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("no connection became free in time") from None
        else:
            await self._slots.acquire()
        try:
            return await self._send(request, timeouts)
        finally:
            self._slots.release()

    async def _send(self, request: httpx.Request, timeouts: dict[str, float | None]) -> httpx.Response:
        address = self.connect_to or (request.url.host, request.url.port or 80)
        connection = self._take_idle(address) or await self._connect(address, timeouts.get("connect"))
        exchange = connection.exchange = _Exchange(request.method.encode("ascii"))
        try:
            connection.transport.write(_serialize(request, await request.aread()))  # type: ignore[union-attr]
            async with asyncio.timeout(timeouts.get("read")):
                body = await exchange.done
        except TimeoutError:
            self._discard(connection)
            raise httpx.ReadTimeout("timed out waiting for the response") from None
        except BaseException:
            self._discard(connection)
            raise
        connection.exchange = None
        status, version, reason, headers = exchange.head  # type: ignore[misc]
        if exchange.framing != "close" and not exchange.buffer and _keep_alive(version, headers) \
                and connection.reusable:
            self._idle.setdefault(address, deque()).append(connection)
        else:
            self._discard(connection)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body), request=request,
                              extensions={"http_version": version, "reason_phrase": reason})

    def _take_idle(self, address: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(address)
        while idle:
            connection = idle.pop()
            if connection.reusable:
                return connection
            self._discard(connection)
        return None

    async def _connect(self, address: tuple[str, int], timeout: float | None) -> _Connection:
        if len(self._open) >= self.max_connections:  # make room: close an idle connection to another host
            for idle in self._idle.values():
                if idle:
                    self._discard(idle.popleft())
                    break
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(loop.create_connection(_Connection, *address), timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {address[0]}:{address[1]}") from None
        except OSError as error:
            raise httpx.ConnectError(str(error) or type(error).__name__) from None
        self._open.add(connection)
        return connection

    def _discard(self, connection: _Connection) -> None:
        connection.exchange = None
        connection.close()
        self._open.discard(connection)

    async def aclose(self) -> None:
        for connection in list(self._open):
            self._discard(connection)
        self._idle.clear()


def _serialize(request: httpx.Request, body: bytes) -> bytes:
    url = request.url
    target = url.raw_path  # path and query, already percent-encoded by httpx.URL
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), target)]
    lines += [b"%s: %s\r\n" % (name, value) for name, value in request.headers.raw]
    if "transfer-encoding" in request.headers:  # a body of unknown length: httpx asked for chunks
        body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    elif body and "content-length" not in request.headers:
        lines.append(b"Content-Length: %d\r\n" % len(body))
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines)

