"""Differential tests: plugin.js against V8 on generated inputs. Zero mismatches allowed."""

from __future__ import annotations

import json
import math
import random
import struct

import pytest

from plugin import js
from plugin.js import dates

from . import v8

MONTHS = ["Jan", "February", "mar", "APR", "May", "june", "Jul", "aug", "Sept", "oct", "Nov", "December"]
DAYS = ["Mon", "Tuesday", "wed", "Thu", "Fri", "sat", "Sun"]
ZONES = ["Z", "z", "UTC", "UT", "GMT", "EST", "edt", "CST", "CDT", "MST", "mdt", "PST", "PDT", "+01:00", "-0530",
         "+05", "GMT+5", "GMT-0800", "UTC+05:30", "+1", "-12345", "+24:00", "-00:00", "(Central European Time)"]
JUNK = ["x", "foo", "T", "t", "am", "PM", "(", ")", "((a)b)", "-", "+", ".", ",", ":", "::", "/", "é", "\u00a0",
        "\u3000", "\u2028", "\ufeff", "\t", "\x00", "名", "😀"]


def _num(rng: random.Random, lo: int, hi: int, width: int = 0) -> str:
    value = rng.randint(lo, hi)
    return str(value).zfill(width) if width else str(value)


def _iso(rng: random.Random) -> str:
    if rng.random() < 0.15:
        sign = rng.choice("+-")
        year = sign + _num(rng, 0, 300000, 6)
    else:
        year = _num(rng, 0, 9999, 4)
    parts = [year]
    if rng.random() < 0.85:
        parts.append("-" + _num(rng, 0, 13, rng.choice([2, 2, 2, 1])))
        if rng.random() < 0.85:
            parts.append("-" + _num(rng, 0, 32, rng.choice([2, 2, 2, 1])))
    text = "".join(parts)
    if rng.random() < 0.7:
        sep = rng.choice(["T", "T", "T", "t", " "])
        clock = _num(rng, 0, 25, 2) + ":" + _num(rng, 0, 60, 2)
        if rng.random() < 0.7:
            clock += ":" + _num(rng, 0, 60, 2)
            if rng.random() < 0.5:
                clock += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12)))
        text += sep + clock
        roll = rng.random()
        if roll < 0.35:
            text += rng.choice(["Z", "z"])
        elif roll < 0.7:
            sign = rng.choice("+-")
            hours, minutes = _num(rng, 0, 25, 2), _num(rng, 0, 60, 2)
            text += sign + rng.choice([hours + ":" + minutes, hours + minutes, hours])
    return text


def _legacy(rng: random.Random) -> str:
    year = rng.choice([_num(rng, 0, 99), _num(rng, 1000, 2100), _num(rng, 1900, 2100), _num(rng, 0, 300000)])
    month, day = _num(rng, 0, 13), _num(rng, 0, 32)
    name = rng.choice(MONTHS)
    shapes = [
        f"{name} {day}, {year}",
        f"{day} {name} {year}",
        f"{rng.choice(DAYS)}, {day} {name} {year}",
        f"{year}/{month}/{day}",
        f"{month}/{day}/{year}",
        f"{month}-{day}-{year}",
        f"{year} {name} {day}",
        f"{name} {year}",
        f"{month} {day}",
        f"{name}-{day}-{year}",
        f"{day}.{month}.{year}",
    ]
    text = rng.choice(shapes)
    if rng.random() < 0.7:
        hour = _num(rng, 0, 25, rng.choice([0, 2]))
        clock = hour + ":" + _num(rng, 0, 61, 2)
        if rng.random() < 0.6:
            clock += ":" + _num(rng, 0, 61, 2)
            if rng.random() < 0.3:
                clock += "." + _num(rng, 0, 9999)
        if rng.random() < 0.1:
            clock = hour + "::"
        if rng.random() < 0.35:
            clock += rng.choice([" ", ""]) + rng.choice(["AM", "pm", "a.m.", "P"])
        text += " " + clock
    if rng.random() < 0.4:
        text += " " + rng.choice(ZONES)
    if rng.random() < 0.15:
        text = rng.choice(DAYS) + " " + text
    return text


def _junk(rng: random.Random, base: str) -> str:
    chars = list(base)
    for _ in range(rng.randint(1, 3)):
        position = rng.randint(0, len(chars))
        chars.insert(position, rng.choice([*JUNK, " ", "0", "12", "2023"]))
    return "".join(chars)


def _random_text(rng: random.Random) -> str:
    alphabet = "0123456789-+:./ ,TZ()apmJanFebDecGMTxyz\u00a0é"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))


def date_strings(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        roll = rng.random()
        if roll < 0.35:
            text = _iso(rng)
        elif roll < 0.7:
            text = _legacy(rng)
        elif roll < 0.85:
            text = _junk(rng, rng.choice([_iso, _legacy])(rng))
        else:
            text = _random_text(rng)
        out.append(text)
    return out


DST_EDGES = [
    "2023-03-12T02:30:00", "2023-03-12T01:59:59", "2023-03-12T03:00:00", "2023-11-05T01:30:00",
    "2023-11-05T00:59:59.999", "2023-11-05T02:00:00", "3/12/2023 2:30 AM", "11/5/2023 1:30 AM",
    "Mar 12 2023 02:15", "Nov 5 2023 01:15:00", "1883-11-18T12:00:00", "1900-01-01T00:00:00",
    "2100-07-01T12:00:00", "2400-07-01T12:00:00", "+012345-07-01T12:00:00", "-000100-01-01T00:00:00",
    "0001-01-01T00:00:00", "1969-12-31T23:59:59", "1970-01-01T00:00:00",
]


def _compare_dates(inputs: list[str], tz: str) -> list[tuple[str, object, object]]:
    script = "JSON.stringify(inputs.map(s => { const v = Date.parse(s); return isNaN(v) ? null : v }))"
    expected = v8.run(script, inputs, tz=tz)
    mismatches = []
    with dates.pinned_time_zone(tz):
        for text, want in zip(inputs, expected, strict=True):
            got = dates.date_parse(text)
            got_value = None if math.isnan(got) else got
            if got_value != want:
                mismatches.append((text, want, got_value))
    return mismatches


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_date_parse_matches_v8(tz: str) -> None:
    inputs = date_strings(10_000, seed=20261128) + DST_EDGES
    mismatches = _compare_dates(inputs, tz)
    assert mismatches == [], f"{len(mismatches)} of {len(inputs)} differ, e.g. {mismatches[:10]}"


def test_new_date_value_matches_v8() -> None:
    values: list[object] = [1700000000123, 0, -1, 8.64e15, 8.64e15 + 1, 1.5, -0.5, True, False, None,
                            "2023-11-14T22:13:20.123Z", ["2023-01-02"], {"a": 1}, "garbage", 1e300, -8.64e15]
    script = "JSON.stringify(inputs.map(x => { const v = new Date(x).valueOf(); return isNaN(v) ? null : v }))"
    expected = v8.run(script, values)
    got = [None if math.isnan(dates.new_date_value(v)) else dates.new_date_value(v) for v in values]
    assert got == expected


def doubles(count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    special = [0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e21, 1e-7, 1e-6,
               9.999999999999999e20, 123456789012345680000.0, 0.1, 0.2 + 0.1, 2.0**53, 2.0**53 + 2, 2.0**63,
               1e16, 1e-5, 123e-20]
    out = list(special)
    while len(out) < count:
        roll = rng.random()
        if roll < 0.4:
            (value,) = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))
        elif roll < 0.6:
            value = float(rng.randint(-(2**60), 2**60))
        elif roll < 0.8:
            value = rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30)
        else:
            value = round(rng.uniform(-1e6, 1e6), rng.randint(0, 6))
        if math.isfinite(value):
            out.append(value)
    return out


def test_number_spelling_matches_v8() -> None:
    values = doubles(100_000, seed=7)
    expected = v8.run("JSON.stringify(inputs.map(x => String(x)))", values)
    mismatches = [(v, want, js.number_to_string(v)) for v, want in zip(values, expected, strict=True)
                  if js.number_to_string(v) != want]
    assert mismatches == [], f"{len(mismatches)} differ, e.g. {mismatches[:10]}"
    stringified = v8.run("JSON.stringify(inputs.map(x => JSON.stringify(x)))", values[:5000])
    assert [js.json.stringify(v) for v in values[:5000]] == stringified


AWKWARD_KEYS = ["0", "1", "2", "10", "007", "4294967294", "4294967295", "-1", "1.5", " 1", "01", "١", "a", "b",
                "__proto__", "", "é", "\u2028", '"quoted"', "back\\slash", "\x00", "\ud800", "😀", "9007199254740993"]
AWKWARD_STRINGS = ["plain", "\"\\/\b\f\n\r\t", "\x00\x01\x1f\x7f", "\u2028\u2029", "\ud800", "\udc00x", "😀",
                   "héllo ☃", "\ufeff", "</script>", ""]


def _value(rng: random.Random, depth: int) -> object:
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        return {rng.choice(AWKWARD_KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 6))}
    if depth < 3 and roll < 0.3:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if roll < 0.55:
        return rng.choice(AWKWARD_STRINGS) + rng.choice(["", "x", "1"])
    if roll < 0.8:
        return rng.choice([rng.randint(-(2**70), 2**70), rng.uniform(-1e25, 1e25), 1.0, -0.0, 2**53 + 1, 1e-7])
    return rng.choice([True, False, None])


def test_json_round_trip_matches_v8() -> None:
    rng = random.Random(99)
    objects = [{rng.choice(AWKWARD_KEYS): _value(rng, 0) for _ in range(rng.randint(1, 10))} for _ in range(2000)]
    texts = [json.dumps(obj) for obj in objects]  # ASCII-escaped, so lone surrogates travel safely
    expected = v8.run("JSON.stringify(inputs.map(t => JSON.stringify(JSON.parse(t))))", texts)
    got = [js.json.stringify(js.json.parse(text)) for text in texts]
    mismatches = [(t, w, g) for t, w, g in zip(texts, expected, got, strict=True) if w != g]
    assert mismatches == [], f"{len(mismatches)} differ, e.g. {mismatches[:3]}"
    direct = [js.json.stringify(obj) for obj in objects]
    assert direct == expected  # Python dicts stringify like the objects JSON.parse builds


def test_utf8_matches_v8() -> None:
    texts = ["site123:tok456", "üñí:名", "undefined:undefined", "a\ud800b:😀", "", "\udc00\ud800"]
    # Bare V8 has no Buffer: encode by hand, lone surrogates as U+FFFD like Node.
    script = """JSON.stringify(inputs.map(s => {
        const bytes = []; for (const ch of s) { let c = ch.codePointAt(0);
          if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;
          if (c < 0x80) bytes.push(c); else if (c < 0x800) bytes.push(0xC0 | c >> 6, 0x80 | c & 63);
          else if (c < 0x10000) bytes.push(0xE0 | c >> 12, 0x80 | c >> 6 & 63, 0x80 | c & 63);
          else bytes.push(0xF0 | c >> 18, 0x80 | c >> 12 & 63, 0x80 | c >> 6 & 63, 0x80 | c & 63); }
        return bytes; }))"""
    assert [list(js.buffer.utf8(t)) for t in texts] == v8.run(script, texts)
