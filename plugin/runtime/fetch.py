"""fetch for plugins: node-fetch's surface, as the client over one pooled httpx transport.

The URL string is parsed the WHATWG way first (what node-fetch does), so what goes on
the wire matches the original plugin's requests. Like node-fetch, and unlike
`httpx.AsyncClient`, it keeps no cookies between requests. Every call is recorded on the
current `CallRecord`, which is how replays and retry policies see a plugin's HTTP traffic.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

import httpx

from .. import js

DEFAULT_TIMEOUT_SECONDS = 30.0


class FetchError(js.JSError):
    """node-fetch's error for a request that got no response."""

    name = "FetchError"


@dataclass
class FetchCall:
    """What a plugin passed to fetch, before any client added anything."""

    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    status: int | None = None  # filled in when a response arrives
    response_headers: httpx.Headers | None = None

    @property
    def url_normalized(self) -> str:
        try:
            return js.url.href(self.url)
        except js.url.InvalidURL:
            return self.url

    def to_trace(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "url_normalized": self.url_normalized,
                "headers": dict(self.headers), "body": self.body}


@dataclass
class CallRecord:
    """The HTTP calls made during one plugin call (setupPlugin or one onEvent attempt)."""

    calls: list[FetchCall] = field(default_factory=list)


current_call: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar("current_call", default=None)


class Response:
    """node-fetch's Response, as far as plugins use it."""

    def __init__(self, status: int, headers: httpx.Headers, content: bytes, url: str) -> None:
        self.status = status
        self.headers = headers
        self.url = url
        self._content = content

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    async def text(self) -> str:
        return self._content.decode("utf-8", errors="replace")

    async def json(self) -> Any:
        return js.json.parse(await self.text())


# Sent unless the plugin sets them: node-fetch's Accept and Accept-Encoding, and a User-Agent
# that says who is asking.
DEFAULT_HEADERS = {"accept": "*/*", "accept-encoding": "gzip, deflate", "user-agent": "cio-plugin-runtime"}


class Fetch:
    """`await fetch(url, method=..., headers=..., body=...)` -> Response."""

    def __init__(self, transport: httpx.AsyncBaseTransport, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.transport = transport
        self.timeout = timeout
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}

    async def __call__(
        self, url: str, *, method: str = "GET", headers: dict[str, Any] | None = None, body: str | None = None
    ) -> Response:
        url = js.to_string(url)
        call = FetchCall(method, url, {k: js.to_string(v) for k, v in (headers or {}).items()}, body)
        record = current_call.get()
        if record is not None:
            record.calls.append(call)
        wire_url = js.url.href(url)  # raises TypeError "Invalid URL", as node-fetch does
        given = {name.lower() for name in call.headers}
        headers = [(name, value) for name, value in DEFAULT_HEADERS.items() if name not in given]
        headers += call.headers.items()
        request = httpx.Request(method, wire_url, headers=headers,
                                content=body.encode("utf-8") if body is not None else None,
                                extensions={**self._extensions, "fetch_url": url})
        try:
            response = await self.transport.handle_async_request(request)
            try:
                await response.aread()  # decoded as its Content-Encoding says
            finally:
                await response.aclose()
        except httpx.TransportError as error:
            reason = str(error) or type(error).__name__
            raise FetchError(f"request to {url} failed, reason: {reason}") from error
        except httpx.DecodingError as error:
            raise FetchError(f"Invalid response body while trying to fetch {url}: {error}") from error
        call.status, call.response_headers = response.status_code, response.headers
        return Response(response.status_code, response.headers, response.content, wire_url)
