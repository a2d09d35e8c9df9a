"""The lean HTTP/1.1 transport, against a raw loopback server that answers with canned bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import pytest_asyncio

from plugin.http1 import HTTP1Transport


class RawServer:
    """Reads one request head (and its Content-Length body) at a time and answers `replies[i]`."""

    def __init__(self, replies: list[bytes | Callable[[asyncio.StreamWriter], None]]) -> None:
        self.replies = replies
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.replies:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                reply = self.replies.pop(0)
                if callable(reply):
                    reply(writer)
                    return
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@pytest_asyncio.fixture
async def transport() -> AsyncIterator[HTTP1Transport]:
    transport = HTTP1Transport(4)
    yield transport
    await transport.aclose()


async def send(transport: HTTP1Transport, url: str, method: str = "GET", body: bytes = b"",
               timeout: float = 5.0) -> httpx.Response:
    request = httpx.Request(method, url, content=body or None, extensions={"timeout": httpx.Timeout(timeout).as_dict()})
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"


async def test_keeps_one_connection_alive_across_requests(transport: HTTP1Transport) -> None:
    async with RawServer([OK, OK, OK]) as server:
        for _ in range(3):
            response = await send(transport, server.url + "/a?b=c", "PUT", b'{"x":1}')
            assert response.status_code == 200 and response.json() == {}
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"PUT /a?b=c HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 7\r\n" in first.replace(b"content-length", b"Content-Length")
    assert first.endswith(b'\r\n\r\n{"x":1}')


async def test_reads_chunked_bodies_and_skips_interim_responses(transport: HTTP1Transport) -> None:
    chunked = (b"HTTP/1.1 100 Continue\r\n\r\n"
               b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: t\r\n\r\n")
    async with RawServer([chunked, OK]) as server:
        response = await send(transport, server.url)
        assert response.status_code == 201 and response.content == b"abcdefg"
        assert (await send(transport, server.url)).status_code == 200
    assert server.connections == 1  # the chunked response ended cleanly: the connection was reused


async def test_a_body_until_close_and_connection_close_are_not_reused(transport: HTTP1Transport) -> None:
    until_close = b"HTTP/1.1 200 OK\r\n\r\nall of it"
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"

    def close_after(data: bytes) -> Callable[[asyncio.StreamWriter], None]:
        return lambda writer: (writer.write(data), writer.close())

    async with RawServer([close_after(until_close), close_after(closing), OK]) as server:
        assert (await send(transport, server.url)).content == b"all of it"
        assert (await send(transport, server.url)).content == b"x"
        assert (await send(transport, server.url)).content == b"{}"
    assert server.connections == 3


async def test_no_body_for_head_204_and_304(transport: HTTP1Transport) -> None:
    replies = [b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", b"HTTP/1.1 204 No Content\r\n\r\n",
               b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", OK]
    async with RawServer(replies) as server:
        assert (await send(transport, server.url, "HEAD")).content == b""
        assert (await send(transport, server.url)).status_code == 204
        assert (await send(transport, server.url)).status_code == 304
        assert (await send(transport, server.url)).content == b"{}"
    assert server.connections == 1


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (lambda writer: writer.close(), httpx.RemoteProtocolError, "Server disconnected without sending a response."),
        (lambda writer: (writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), writer.close()),
         httpx.RemoteProtocolError, "peer closed connection without sending complete message body"),
        (lambda writer: (writer.write(b"garbage\r\n\r\n"), writer.close()), httpx.RemoteProtocolError,
         "malformed status line"),
        (lambda writer: (writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"), writer.close()),
         httpx.RemoteProtocolError, "bad Content-Length"),
        (lambda writer: (writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
                         writer.close()), httpx.RemoteProtocolError, "bad chunk size"),
        (lambda writer: writer.transport.abort(), httpx.TransportError, None),
    ],
)
async def test_broken_responses_are_transport_errors_and_the_next_request_works(
    transport: HTTP1Transport, reply: Callable[[asyncio.StreamWriter], None], error: type[Exception],
    message: str | None,
) -> None:
    async with RawServer([reply, OK]) as server:
        with pytest.raises(error, match=message):
            await send(transport, server.url)
        assert (await send(transport, server.url)).content == b"{}"


async def test_timeouts_and_refused_connections(transport: HTTP1Transport) -> None:
    async with RawServer([lambda writer: None]) as server:  # reads the request, never answers
        with pytest.raises(httpx.ReadTimeout):
            await send(transport, server.url, timeout=0.2)
        url = server.url
    await asyncio.sleep(0.05)
    with pytest.raises(httpx.ConnectError):
        await send(HTTP1Transport(1), url)


async def test_at_most_max_connections_at_once() -> None:
    transport = HTTP1Transport(2)
    async with RawServer([OK] * 6) as server:
        await asyncio.gather(*(send(transport, server.url) for _ in range(6)))
    await transport.aclose()
    assert server.connections == 2


async def test_connect_to_sends_any_url_to_one_address_and_https_needs_it(transport: HTTP1Transport) -> None:
    async with RawServer([OK]) as server:
        host, port = server.url.removeprefix("http://").split(":")
        routed = HTTP1Transport(1, connect_to=(host, int(port)))
        response = await send(routed, "https://track.customer.io/api/v1/customers/1")
        await routed.aclose()
    assert response.status_code == 200
    assert server.requests[0].startswith(b"GET /api/v1/customers/1 HTTP/1.1\r\n")
    assert b"\r\nHost: track.customer.io\r\n" in server.requests[0].replace(b"host:", b"Host:")
    with pytest.raises(httpx.UnsupportedProtocol):
        await send(transport, "https://track.customer.io/")
