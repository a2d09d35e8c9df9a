"""JavaScript values as Python sees them: `undefined`, ToString, truthiness, typeof, Set.

JSON-shaped Python data stands for JavaScript values: None is `null`, dict an object,
list an array, int/float a Number. `UNDEFINED` is what a missing property reads as.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any


class _Undefined:
    """JavaScript's `undefined`: falsy, dropped by JSON.stringify, spelled 'undefined'."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()


class JSError(Exception):
    """An error as JavaScript code sees it: a `name` and a `message`."""

    name = "Error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        # Error.prototype.toString: "Name: message", or just the name.
        return f"{self.name}: {self.message}" if self.message else self.name


class JSTypeError(JSError):
    name = "TypeError"


class JSSyntaxError(JSError):
    name = "SyntaxError"


# WhiteSpace and LineTerminator code points: what String.prototype.trim removes and `\s` matches.
WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)

# Properties every object inherits from Object.prototype, as String() shows them.
_OBJECT_PROTOTYPE = {
    name: f"function {name}() {{ [native code] }}"
    for name in (
        "toString", "toLocaleString", "valueOf", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable",
        "__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__",
    )
}
_OBJECT_PROTOTYPE["constructor"] = "function Object() { [native code] }"


def trim(text: str) -> str:
    """String.prototype.trim."""
    return text.strip(WHITESPACE)


def lookup(table: dict[str, Any], key: Any) -> Any:
    """`table[key]` on an object literal: own keys, then what Object.prototype provides.

    Inherited methods come back as their String() form, which is all a plugin can do with
    them short of calling them.
    """
    name = to_string(key)
    if name in table:
        return table[name]
    if name == "__proto__":
        return {}
    return _OBJECT_PROTOTYPE.get(name, UNDEFINED)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_number_value(value: int | float) -> float:
    """A Python number as the IEEE double JavaScript would hold."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def number_to_string(value: int | float) -> str:
    """Number::toString(10): the shortest round-trip digits in JavaScript's layout."""
    x = to_number_value(value)
    if math.isnan(x):
        return "NaN"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    sign = "-" if x < 0 else ""
    # repr() gives the shortest digits that round-trip, as JavaScript requires.
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    all_digits = whole + frac
    leading_zeros = len(all_digits) - len(all_digits.lstrip("0"))
    digits = all_digits.strip("0")
    # n: where the decimal point sits relative to the significant digits.
    point = len(whole) + (int(exp) if exp else 0) - leading_zeros
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exponent = f"e{'+' if e >= 0 else '-'}{abs(e)}"
    if k == 1:
        return sign + digits + exponent
    return sign + digits[0] + "." + digits[1:] + exponent


def to_string(value: Any) -> str:
    """ToString, as a template literal `${value}` applies it."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if is_number(value):
        return number_to_string(value)
    if isinstance(value, list):
        # Array.prototype.join: null and undefined elements become empty strings.
        return ",".join("" if item is None or item is UNDEFINED else to_string(item) for item in value)
    if isinstance(value, JSSet):
        return "[object Set]"
    if isinstance(value, BaseException):
        return str(value) if isinstance(value, JSError) else f"Error: {value}"
    return "[object Object]"


def truthy(value: Any) -> bool:
    """ToBoolean: '', 0, NaN, null, undefined and false are falsy; objects never are."""
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, (dict, list, JSSet)):
        return True
    return bool(value)


def typeof(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if value is None or isinstance(value, (dict, list, JSSet)):
        return "object"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if callable(value):
        return "function"
    return "object"


def same_value_zero(a: Any, b: Any) -> bool:
    """SameValueZero: what Set membership and Array.prototype.includes use."""
    if is_number(a) and is_number(b):
        fa, fb = to_number_value(a), to_number_value(b)
        return fa == fb or (math.isnan(fa) and math.isnan(fb))
    if isinstance(a, (dict, list, JSSet)) or isinstance(b, (dict, list, JSSet)):
        return a is b
    return type(a) is type(b) and a == b


def utf16_units(text: str) -> list[str]:
    """The UTF-16 code units of a string, each as a one-character Python string."""
    units: list[str] = []
    for ch in text:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            units.append(chr(0xD800 + (cp >> 10)))
            units.append(chr(0xDC00 + (cp & 0x3FF)))
        else:
            units.append(ch)
    return units


def js_length(value: str | list[Any]) -> int:
    """`.length`: UTF-16 code units for strings."""
    return len(utf16_units(value)) if isinstance(value, str) else len(value)


def iterate(value: Any) -> Iterator[Any]:
    """`for (x of value)`, with V8's TypeError for values that are not iterable."""
    if isinstance(value, str):
        return iter(value)  # by code point, as the string iterator does
    if isinstance(value, (list, JSSet)):
        return iter(list(value))
    if value is None or value is UNDEFINED:
        raise JSTypeError(f"{to_string(value)} is not iterable")
    kind = typeof(value)
    shown = "" if kind == "object" else " " + to_string(value)
    raise JSTypeError(f"{kind}{shown} is not iterable (cannot read property Symbol(Symbol.iterator))")


def spread(value: Any) -> dict[str, Any]:
    """Object spread `{...value}`: own enumerable properties, indices for strings and arrays."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return {str(i): item for i, item in enumerate(value)}
    if isinstance(value, str):
        return {str(i): unit for i, unit in enumerate(utf16_units(value))}
    return {}


def get_property(obj: Any, key: str) -> Any:
    """`obj[key]` for JSON-shaped values, with V8's TypeError on null and undefined."""
    if obj is None or obj is UNDEFINED:
        raise JSTypeError(f"Cannot read properties of {to_string(obj)} (reading '{key}')")
    if isinstance(obj, dict):
        return obj.get(key, UNDEFINED)
    if isinstance(obj, (list, str)) and key == "length":
        return js_length(obj)
    if isinstance(obj, list) and key.isdigit() and str(int(key)) == key and int(key) < len(obj):
        return obj[int(key)]
    return UNDEFINED


class JSSet:
    """A JavaScript Set: insertion-ordered, SameValueZero membership.

    JSON.stringify turns it into `{}` and String() into `[object Set]`, as in JavaScript.
    """

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._items: list[Any] = []
        for item in items:
            self.add(item)

    def add(self, item: Any) -> JSSet:
        if not self.has(item):
            self._items.append(item)
        return self

    def has(self, item: Any) -> bool:
        return any(same_value_zero(item, existing) for existing in self._items)

    @property
    def size(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"JSSet({self._items!r})"
