"""Node's Buffer, for the one use plugins make of it: `Buffer.from(s).toString('base64')`."""

from __future__ import annotations

import base64
import re

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def utf8(text: str) -> bytes:
    """`Buffer.from(text)`: UTF-8, with lone surrogates replaced by U+FFFD as Node does."""
    return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")


def base64_of(text: str) -> str:
    """`Buffer.from(text).toString('base64')`."""
    return base64.b64encode(utf8(text)).decode("ascii")
