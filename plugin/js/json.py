"""JSON.stringify and JSON.parse with V8's output, byte for byte."""

from __future__ import annotations

import json as _json
import math
import re
from typing import Any

from .values import UNDEFINED, JSSet, JSSyntaxError, is_number, number_to_string, to_string

_MAX_SAFE = 2**53
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Control characters and lone surrogates are escaped; everything else goes out as it is.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    return _ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


def quote(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def is_array_index(key: str) -> bool:
    """Keys JavaScript objects keep first, in ascending numeric order."""
    if not key.isdigit() or not key.isascii() or (len(key) > 1 and key[0] == "0"):
        return False
    return int(key) < 2**32 - 1


def property_order(obj: dict[str, Any]) -> list[str]:
    """Own property order of a JavaScript object built by inserting these keys in order."""
    keys = [to_string(k) if not isinstance(k, str) else k for k in obj]
    indices = sorted((k for k in keys if is_array_index(k)), key=int)
    return indices + [k for k in keys if not is_array_index(k)]


def _own_properties(obj: dict[Any, Any]) -> Any:
    """(key, value) pairs in JavaScript's property order."""
    if all(isinstance(k, str) and not k[:1].isdigit() for k in obj):
        return obj.items()  # no index-like key: insertion order is the order
    by_key = {k if isinstance(k, str) else to_string(k): v for k, v in obj.items()}
    return [(key, by_key[key]) for key in property_order(obj)]


def stringify(value: Any) -> Any:
    """JSON.stringify(value): a str, or UNDEFINED where JavaScript returns undefined."""
    if value is UNDEFINED or callable(value):
        return UNDEFINED
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(quote(value))
    elif is_number(value):
        try:
            finite = math.isfinite(value)
        except OverflowError:
            finite = False
        out.append(number_to_string(value) if finite else "null")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            if item is UNDEFINED or callable(item):
                out.append("null")
            else:
                _write(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in _own_properties(value):
            if item is UNDEFINED or callable(item):
                continue
            if not first:
                out.append(",")
            first = False
            out.append(quote(key))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, JSSet):
        out.append("{}")  # a Set has no enumerable own properties
    else:
        raise TypeError(f"cannot serialise {type(value).__name__} as JSON")


def _parse_int(text: str) -> int | float:
    if text == "-0":
        return -0.0
    number = int(text)
    # Beyond 2^53 JavaScript holds the nearest double, not the integer.
    return number if -_MAX_SAFE <= number <= _MAX_SAFE else float(number)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Unexpected token '{name[0]}'")


def parse(text: str) -> Any:
    """JSON.parse(text). Numbers follow double precision; errors are SyntaxErrors."""
    try:
        return _json.loads(text, parse_int=_parse_int, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise JSSyntaxError(_syntax_message(text, error)) from None


CONTEXT_CHARACTERS = 10


def _syntax_message(text: str, error: Exception) -> str:
    # V8's wording for the common cases; the exact text varies between V8 versions.
    if not text.strip(" \t\n\r"):
        return "Unexpected end of JSON input"
    position = getattr(error, "pos", None)
    if position is None or position >= len(text):
        return "Unexpected end of JSON input"
    if getattr(error, "msg", "") == "Extra data":
        return f"Unexpected non-whitespace character after JSON at position {position}"
    if any(word.startswith(text[position:]) for word in ("null", "true", "false")):
        return "Unexpected end of JSON input"  # V8 reads a cut-off literal to the end first
    token = f"Unexpected token '{text[position]}', "
    # V8 quotes short sources whole, longer ones as up to 10 characters either side.
    if len(text) < 2 * CONTEXT_CHARACTERS + 1:
        return f'{token}"{text}" is not valid JSON'
    if position < CONTEXT_CHARACTERS:
        return f'{token}"{text[: position + CONTEXT_CHARACTERS]}"... is not valid JSON'
    if position < len(text) - CONTEXT_CHARACTERS:
        return f'{token}..."{text[position - CONTEXT_CHARACTERS : position + CONTEXT_CHARACTERS]}"... is not valid JSON'
    return f'{token}..."{text[position - CONTEXT_CHARACTERS :]}" is not valid JSON'
