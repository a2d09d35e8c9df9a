"""JavaScript semantics the original plugin relies on, in pure Python.

Everything the port needs to behave like code running in V8 lives here, so the port
itself reads like the TypeScript it mirrors: `undefined`, ToString, truthiness, Sets,
JSON.stringify/JSON.parse, Date.parse, Buffer's base64 and WHATWG URL serialisation.
"""

from . import buffer, dates, json, url
from .values import (
    UNDEFINED,
    JSError,
    JSSet,
    JSSyntaxError,
    JSTypeError,
    get_property,
    is_number,
    iterate,
    js_length,
    lookup,
    number_to_string,
    same_value_zero,
    spread,
    to_string,
    trim,
    truthy,
    typeof,
)

__all__ = [
    "UNDEFINED", "JSError", "JSSet", "JSSyntaxError", "JSTypeError", "buffer", "dates", "get_property",
    "is_number", "iterate", "js_length", "json", "lookup", "number_to_string", "same_value_zero", "spread",
    "to_string", "trim", "truthy", "typeof", "url",
]
