"""Date.parse and `new Date(x).valueOf()` as V8 computes them.

V8 first tries the ES5 ISO format, then falls back to its legacy parser, which accepts
RFC 2822 dates, month names, `M/D/Y`, 12-hour times and more. The grammar below follows
V8's tokenizer and its day, time and time-zone composers rule for rule; a date-time
without an offset is local time of the process (the `TZ` environment variable).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .values import UNDEFINED, JSSet, is_number, to_number_value, to_string, utf16_units

NAN = math.nan
MS_PER_DAY = 86_400_000
MAX_TIME_MS = 8.64e15
_MAX_LOCAL_MS = MAX_TIME_MS + 864_000_000  # V8 allows ten days of slack before UTC conversion
_MAX_SIGNIFICANT_DIGITS = 9
_SMI_MAX = 2**30 - 1  # V8's small-integer range on pointer-compressed builds

# Token kinds.
_NUMBER, _SYMBOL, _WORD, _SPACE, _UNKNOWN, _END, _INVALID = range(7)
# Word kinds, from V8's keyword table (matched on the first three letters, lower-cased).
_MONTH, _ZONE, _T, _AMPM, _OTHER = range(5)
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_KEYWORDS: dict[str, tuple[int, int]] = {name: (_MONTH, i + 1) for i, name in enumerate(_MONTHS)}
_KEYWORDS.update(
    {
        "am": (_AMPM, 0), "pm": (_AMPM, 12),
        "ut": (_ZONE, 0), "utc": (_ZONE, 0), "z": (_ZONE, 0), "gmt": (_ZONE, 0),
        "cdt": (_ZONE, -5), "cst": (_ZONE, -6), "edt": (_ZONE, -4), "est": (_ZONE, -5),
        "mdt": (_ZONE, -6), "mst": (_ZONE, -7), "pdt": (_ZONE, -7), "pst": (_ZONE, -8),
        "t": (_T, 0),
    }
)
# What V8's date tokenizer skips as white space (U+2028 and U+2029 count as letters).
_JS_SPACE = frozenset("\t\n\v\f\r \u00a0\u1680\u202f\u205f\u3000\ufeff") | frozenset(
    chr(c) for c in range(0x2000, 0x200B)
)


@dataclass
class _Token:
    kind: int
    value: Any = None  # number value, symbol char, or (word kind, word value)
    length: int = 0

    def is_number(self, length: int | None = None) -> bool:
        return self.kind == _NUMBER and (length is None or self.length == length)

    def is_symbol(self, ch: str) -> bool:
        return self.kind == _SYMBOL and self.value == ch

    def is_sign(self) -> bool:
        return self.kind == _SYMBOL and self.value in "+-"

    def sign(self) -> int:
        return 1 if self.value == "+" else -1

    def is_word(self, kind: int) -> bool:
        return self.kind == _WORD and self.value[0] == kind

    def is_z(self) -> bool:
        return self.kind == _WORD and self.value == (_ZONE, 0) and self.length == 1


def _scan_tokens(text: str) -> list[_Token]:
    # V8 reads UTF-16 code units, and a NUL ends the input.
    units = "".join(utf16_units(text.split("\0", 1)[0]))
    tokens: list[_Token] = []
    i, n = 0, len(units)
    while i < n:
        ch = units[i]
        if "0" <= ch <= "9":
            start = i
            value = significant = 0
            while i < n and "0" <= units[i] <= "9":
                # Only the first nine significant digits count; leading zeros are free.
                digit = ord(units[i]) - 48
                if significant < _MAX_SIGNIFICANT_DIGITS and (value or digit):
                    value = value * 10 + digit
                    significant += 1
                i += 1
            tokens.append(_Token(_NUMBER, value, i - start))
        elif ch in ":-+.)":
            tokens.append(_Token(_SYMBOL, ch, 1))
            i += 1
        elif ch in _JS_SPACE:
            tokens.append(_Token(_SPACE, None, 1))
            i += 1
        elif ch >= "A":
            start = i
            while i < n and units[i] >= "A" and units[i] not in _JS_SPACE:
                i += 1
            word = units[start:i]
            prefix = "".join(c.lower() if "A" <= c <= "Z" else c for c in word[:3])
            kind = _KEYWORDS.get(prefix, (_OTHER, 0))
            # Words longer than their keyword only count for month names.
            if len(word) > 3 and kind[0] != _MONTH:
                kind = (_OTHER, 0)
            tokens.append(_Token(_WORD, kind, len(word)))
        elif ch == "(":
            depth = 0
            while True:  # skip a balanced parenthesised run, or to the end
                if units[i] == ")":
                    depth -= 1
                elif units[i] == "(":
                    depth += 1
                i += 1
                if depth <= 0 or i >= n:
                    break
            tokens.append(_Token(_UNKNOWN))
        else:
            tokens.append(_Token(_UNKNOWN))
            i += 1
    tokens.append(_Token(_END))
    return tokens


class _Scanner:
    def __init__(self, text: str) -> None:
        self._tokens = _scan_tokens(text)
        self._pos = 0

    def peek(self) -> _Token:
        return self._tokens[self._pos]

    def next(self) -> _Token:
        token = self._tokens[self._pos]
        if token.kind != _END:
            self._pos += 1
        return token

    def skip_symbol(self, ch: str) -> bool:
        if self.peek().is_symbol(ch):
            self._pos += 1
            return True
        return False


def _between(x: int, lo: int, hi: int) -> bool:
    return lo <= x <= hi


def _is_month(x: int) -> bool:
    return _between(x, 1, 12)


def _is_day(x: int) -> bool:
    return _between(x, 1, 31)


def _is_minute(x: int) -> bool:
    return _between(x, 0, 59)


def _is_hour(x: int) -> bool:
    return _between(x, 0, 23)


@dataclass
class _Day:
    comp: list[int] = field(default_factory=list)
    named_month: int | None = None
    iso: bool = False

    def add(self, n: int) -> bool:
        if len(self.comp) < 3:
            self.comp.append(n)
            return True
        return False

    def write(self) -> tuple[int, int, int] | None:
        if not self.comp:
            return None
        # Missing fields become 1. V8 pads before it looks at the count, so its
        # "three components" and "one component" branches see three, always.
        comp = self.comp + [1] * (3 - len(self.comp))
        if self.named_month is None:
            if self.iso or not _is_day(comp[0]):
                year, month, day = comp
            else:
                month, day, year = comp
        else:
            month = self.named_month
            if not _is_day(comp[0]):
                year, day = comp[0], comp[1]
            else:
                day, year = comp[0], comp[1]
        if not self.iso:
            if _between(year, 0, 49):
                year += 2000
            elif _between(year, 50, 99):
                year += 1900
        if not (-_SMI_MAX - 1 <= year <= _SMI_MAX) or not _is_month(month) or not _is_day(day):
            return None
        return year, month - 1, day


@dataclass
class _Time:
    comp: list[int] = field(default_factory=list)
    hour_offset: int | None = None

    def is_empty(self) -> bool:
        return not self.comp

    def is_expecting(self, n: int) -> bool:
        i = len(self.comp)
        return (i == 1 and _is_minute(n)) or (i == 2 and _is_minute(n)) or (i == 3 and _between(n, 0, 999))

    def add(self, n: int) -> bool:
        if len(self.comp) < 4:
            self.comp.append(n)
            return True
        return False

    def add_final(self, n: int) -> bool:
        if not self.add(n):
            return False
        self.comp += [0] * (4 - len(self.comp))
        return True

    def write(self) -> tuple[int, int, int, int] | None:
        hour, minute, second, ms = self.comp + [0] * (4 - len(self.comp))
        if self.hour_offset is not None:
            if not _between(hour, 0, 12):
                return None
            hour = hour % 12 + self.hour_offset
        if not (_is_hour(hour) and _is_minute(minute) and _is_minute(second) and _between(ms, 0, 999)):
            if (hour, minute, second, ms) != (24, 0, 0, 0):
                return None
        return hour, minute, second, ms


@dataclass
class _Zone:
    sign: int | None = None
    hour: int | None = None
    minute: int | None = None

    def set(self, offset_hours: int) -> None:
        self.sign = -1 if offset_hours < 0 else 1
        self.hour = offset_hours * self.sign
        self.minute = 0

    def is_expecting(self, n: int) -> bool:
        return self.hour is not None and self.minute is None and _is_minute(n)

    def is_utc(self) -> bool:
        return self.hour == 0 and self.minute == 0

    def is_empty(self) -> bool:
        return self.hour is None

    def write(self) -> tuple[bool, int | None]:
        if self.sign is None:
            return True, None
        total = (self.hour or 0) * 3600 + (self.minute or 0) * 60
        if total > _SMI_MAX:
            return False, None
        return True, -total if self.sign < 0 else total


def _read_milliseconds(token: _Token) -> int:
    number, length = token.value, token.length
    if length == 1:
        return number * 100
    if length == 2:
        return number * 10
    if length > 3:
        return number // 10 ** (min(length, _MAX_SIGNIFICANT_DIGITS) - 3)
    return number


_DONE = _Token(_END)


def _parse_iso(scanner: _Scanner, day: _Day, time: _Time, zone: _Zone) -> _Token:
    """The ES5 date-time format. Returns the token the legacy parser continues with."""
    if scanner.peek().is_sign():
        sign_token = scanner.next()
        if not scanner.peek().is_number(6):
            return sign_token
        year = scanner.next().value
        if sign_token.sign() < 0 and year == 0:
            return sign_token
        day.add(sign_token.sign() * year)
    elif scanner.peek().is_number(4):
        day.add(scanner.next().value)
    else:
        return scanner.next()
    if scanner.skip_symbol("-"):
        if not scanner.peek().is_number(2) or not _is_month(scanner.peek().value):
            return scanner.next()
        day.add(scanner.next().value)
        if scanner.skip_symbol("-"):
            if not scanner.peek().is_number(2) or not _is_day(scanner.peek().value):
                return scanner.next()
            day.add(scanner.next().value)
    if not scanner.peek().is_word(_T):
        if scanner.peek().kind != _END:
            return scanner.next()
    else:
        scanner.next()
        peek = scanner.peek()
        if not peek.is_number(2) or not _between(peek.value, 0, 24):
            return _Token(_INVALID)
        hour_is_24 = peek.value == 24
        time.add(scanner.next().value)
        if not scanner.skip_symbol(":"):
            return _Token(_INVALID)
        peek = scanner.peek()
        if not peek.is_number(2) or not _is_minute(peek.value) or (hour_is_24 and peek.value > 0):
            return _Token(_INVALID)
        time.add(scanner.next().value)
        if scanner.skip_symbol(":"):
            peek = scanner.peek()
            if not peek.is_number(2) or not _is_minute(peek.value) or (hour_is_24 and peek.value > 0):
                return _Token(_INVALID)
            time.add(scanner.next().value)
            if scanner.skip_symbol("."):
                peek = scanner.peek()
                if not peek.is_number() or (hour_is_24 and peek.value > 0):
                    return _Token(_INVALID)
                time.add(_read_milliseconds(scanner.next()))
        if scanner.peek().is_z():
            scanner.next()
            zone.set(0)
        elif scanner.peek().is_sign():
            zone.sign = scanner.next().sign()
            if scanner.peek().is_number(4):
                hour, minute = divmod(scanner.next().value, 100)
                if not _is_hour(hour) or not _is_minute(minute):
                    return _Token(_INVALID)
                zone.hour, zone.minute = hour, minute
            else:
                if not scanner.peek().is_number(2) or not _is_hour(scanner.peek().value):
                    return _Token(_INVALID)
                zone.hour = scanner.next().value
                if not scanner.skip_symbol(":"):
                    return _Token(_INVALID)
                if not scanner.peek().is_number(2) or not _is_minute(scanner.peek().value):
                    return _Token(_INVALID)
                zone.minute = scanner.next().value
        if scanner.peek().kind != _END:
            return _Token(_INVALID)
    # Date-only forms are UTC; date-time forms without an offset are local time.
    if zone.is_empty() and time.is_empty():
        zone.set(0)
    day.iso = True
    return _DONE


def _parse_fields(text: str) -> tuple[int, int, int, int, int, int, int, int | None] | None:
    """V8's DateParser::Parse: the date's fields, or None when the string is rejected."""
    scanner = _Scanner(text)
    day, time, zone = _Day(), _Time(), _Zone()
    token = _parse_iso(scanner, day, time, zone)
    if token.kind == _INVALID:
        return None
    has_read_number = bool(day.comp)
    while token.kind != _END:
        if token.kind == _NUMBER:
            has_read_number = True
            n = token.value
            if scanner.skip_symbol(":"):
                if scanner.skip_symbol(":"):
                    if not time.is_empty():
                        return None
                    time.add(n)
                    time.add(0)
                else:
                    if not time.add(n):
                        return None
                    if scanner.peek().is_symbol("."):
                        scanner.next()
            elif scanner.skip_symbol(".") and time.is_expecting(n):
                time.add(n)
                if not scanner.peek().is_number():
                    return None
                ms = _read_milliseconds(scanner.next())
                if ms < 0:
                    return None
                time.add_final(ms)
            elif zone.is_expecting(n):
                zone.minute = n
            elif time.is_expecting(n):
                time.add_final(n)
                peek = scanner.peek()
                if peek.kind not in (_END, _SPACE) and not peek.is_z() and not peek.is_sign():
                    return None
            else:
                if not day.add(n):
                    return None
                scanner.skip_symbol("-")
        elif token.kind == _WORD:
            kind, value = token.value
            if kind == _AMPM and not time.is_empty():
                time.hour_offset = value
            elif kind == _MONTH:
                day.named_month = value
                scanner.skip_symbol("-")
            elif kind == _ZONE and has_read_number:
                zone.set(value)
            else:
                # Unknown words are allowed only before the first number, and apart from it.
                if has_read_number or scanner.peek().is_number():
                    return None
        elif token.is_sign() and (zone.is_utc() or not time.is_empty()):
            zone.sign = token.sign()
            n, length = 0, 0
            if scanner.peek().is_number():
                number = scanner.next()
                n, length = number.value, number.length
            has_read_number = True
            if scanner.peek().is_symbol(":"):
                zone.hour, zone.minute = n, None
            elif length in (1, 2):
                zone.hour, zone.minute = n, 0
            elif length in (3, 4):
                zone.hour, zone.minute = divmod(n, 100)
            else:
                return None
        elif (token.is_sign() or token.is_symbol(")")) and has_read_number:
            return None
        token = scanner.next()
    date = day.write()
    clock = time.write()
    ok, offset = zone.write()
    if date is None or clock is None or not ok:
        return None
    return (*date, *clock, offset)


def _days_from_civil(year: int, month0: int, day: int) -> int:
    """MakeDay: days since the epoch; `month0` is 0-based and may overflow into years."""
    year += month0 // 12
    month = month0 % 12 + 1
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468 + day - 1


def make_time_ms(year: int, month0: int, day: int, hour: int, minute: int, second: int, ms: int) -> int:
    return _days_from_civil(year, month0, 1) * MS_PER_DAY + (day - 1) * MS_PER_DAY + (
        ((hour * 60 + minute) * 60 + second) * 1000 + ms
    )


@lru_cache(maxsize=8)
def _zone_for(tz_setting: str | None) -> Any:
    if tz_setting is None:
        try:
            return ZoneInfo.from_file(open("/etc/localtime", "rb"))
        except OSError:
            return UTC
    name = tz_setting.lstrip(":")
    try:
        if name.startswith("/"):
            with open(name, "rb") as handle:
                return ZoneInfo.from_file(handle)
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, OSError, ValueError):
        return UTC


_zone_override: contextvars.ContextVar[str | None] = contextvars.ContextVar("zone_override", default=None)


def local_zone() -> Any:
    """The process time zone, as V8 sees it: `TZ`, else /etc/localtime, else UTC.

    `pinned_time_zone` overrides it for the code it wraps (replays pin UTC).
    """
    return _zone_for(_zone_override.get() or os.environ.get("TZ"))


@contextlib.contextmanager
def pinned_time_zone(name: str) -> Iterator[None]:
    """Evaluate local times in zone `name` (an IANA name such as "UTC")."""
    token = _zone_override.set(name)
    try:
        yield
    finally:
        _zone_override.reset(token)


_EPOCH = datetime(1970, 1, 1)
_CYCLE_YEARS = 400  # the Gregorian calendar repeats every 400 years
_CYCLE_MS = 146_097 * MS_PER_DAY


def _wall_clock(local_ms: int) -> datetime:
    """A naive datetime for a local time value, moved by whole 400-year cycles into range.

    Python's datetime stops at years 1 and 9999. Years before take the zone's earliest
    offset (local mean time), years after its last, repeating rule; moving by 400-year
    Gregorian cycles keeps the weekday and the leap days.
    """
    year = 1970 + int(local_ms // (365.2425 * MS_PER_DAY))
    cycles = 0
    if year < 3:
        cycles = (3 - year) // _CYCLE_YEARS + 1
    elif year > 9997:
        cycles = -((year - 9997) // _CYCLE_YEARS + 1)
    return _EPOCH + timedelta(milliseconds=local_ms + cycles * _CYCLE_MS)


def local_offset_ms(local_ms: int) -> int:
    """Offset of local time from UTC at a local wall-clock time.

    In a gap or an overlap V8 takes the offset in force before the transition, which is
    what `fold=0` means in Python.
    """
    zone = local_zone()
    if zone is UTC:
        return 0
    wall = _wall_clock(local_ms).replace(tzinfo=zone, fold=0)
    offset = wall.utcoffset()
    return int(offset.total_seconds() * 1000) if offset else 0


# The form PostHog timestamps take (UTC, to the millisecond): read directly when every field is in
# range for any month, so the answer cannot differ from the full parser's.
_CANONICAL_UTC = re.compile(
    r"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d{3}))?Z"
)


def date_parse(text: str) -> float:
    """Date.parse(text) for a string: milliseconds since the epoch, or NaN."""
    match = _CANONICAL_UTC.fullmatch(text)
    if match is not None:
        year, month, day, hour, minute, second, ms = match.groups()
        return float(make_time_ms(int(year), int(month) - 1, int(day), int(hour), int(minute), int(second),
                                  int(ms or 0)))
    return _parse_in_full(text)


def _parse_in_full(text: str) -> float:
    fields = _parse_fields(text)
    if fields is None:
        return NAN
    year, month0, day, hour, minute, second, ms, offset = fields
    value = make_time_ms(year, month0, day, hour, minute, second, ms)
    if offset is None:
        if not -_MAX_LOCAL_MS <= value <= _MAX_LOCAL_MS:
            return NAN
        value -= local_offset_ms(value)
    else:
        value -= offset * 1000
        if not -MAX_TIME_MS <= value <= MAX_TIME_MS:
            return NAN
    return time_clip(value)


def time_clip(value: float) -> float:
    if not math.isfinite(value) or abs(value) > MAX_TIME_MS:
        return NAN
    return float(math.trunc(value)) + 0.0


def parse(value: Any) -> float:
    """Date.parse(value): the argument goes through ToString first."""
    return date_parse(to_string(value))


def new_date_value(value: Any) -> float:
    """`new Date(value).valueOf()` for one JSON-shaped argument."""
    if isinstance(value, str):
        return date_parse(value)
    if isinstance(value, (list, dict, JSSet)):
        return date_parse(to_string(value))  # ToPrimitive gives the string form
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if value is UNDEFINED:
        return NAN
    if is_number(value):
        return time_clip(to_number_value(value))
    return NAN


def to_iso_string(moment: datetime | None = None) -> str:
    """`Date.prototype.toISOString` of a datetime (default: now): UTC, milliseconds, a Z."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
