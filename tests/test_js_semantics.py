"""plugin.js on fixed cases: ToString, Set, spread, property access, base64, WHATWG URLs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from plugin import js

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "null"), (js.UNDEFINED, "undefined"), (True, "true"), (12345, "12345"), (1.0, "1"), (-0.0, "0"),
     (1e21, "1e+21"), (1.5e-7, "1.5e-7"), (12345678901234567890, "12345678901234567000"), ([1, None, "a"], "1,,a"),
     ({"a": 1}, "[object Object]"), (js.JSSet(), "[object Set]"), (float("nan"), "NaN")],
)
def test_to_string(value: object, text: str) -> None:
    assert js.to_string(value) == text


def test_set_uses_same_value_zero_and_keeps_order() -> None:
    status = js.JSSet(["seen", 1, True, 1.0, float("nan"), float("nan")])
    assert list(status) [:3] == ["seen", 1, True]
    assert status.size == 4  # 1 and 1.0 are one number; NaN equals NaN; true is not 1
    assert js.json.stringify({"status": status}) == '{"status":{}}'


def test_spread_of_strings_and_arrays_gives_index_keys() -> None:
    assert js.spread("a😀") == {"0": "a", "1": "\ud83d", "2": "\ude00"}
    assert js.spread(["x", "y"]) == {"0": "x", "1": "y"}
    assert js.spread(5) == {}


def test_property_access_on_null_is_a_type_error() -> None:
    with pytest.raises(js.JSTypeError, match=r"Cannot read properties of null \(reading 'email'\)"):
        js.get_property(None, "email")


def test_iterate_rejects_numbers_like_v8() -> None:
    with pytest.raises(js.JSTypeError, match=r"number 5 is not iterable \(cannot read property Symbol"):
        js.iterate(5)


def test_lookup_sees_object_prototype() -> None:
    table = {"a": 1}
    assert js.lookup(table, "a") == 1
    assert js.lookup(table, "b") is js.UNDEFINED
    assert js.lookup(table, "toString") == "function toString() { [native code] }"


def test_trim_uses_javascript_whitespace() -> None:
    assert js.trim("\ufeff\u2028 a \x1c") == "a \x1c"  # U+001C is not JS white space


def test_json_parse_errors_are_syntax_errors() -> None:
    with pytest.raises(js.JSSyntaxError, match="Unexpected end of JSON input"):
        js.json.parse("")
    with pytest.raises(js.JSSyntaxError):
        js.json.parse("<html>")
    with pytest.raises(js.JSSyntaxError):
        js.json.parse("NaN")


def test_json_stringify_drops_undefined_and_functions() -> None:
    assert js.json.stringify({"a": js.UNDEFINED, "b": [js.UNDEFINED], "2": 1, "1": 0}) == '{"1":0,"2":1,"b":[null]}'
    assert js.json.stringify(js.UNDEFINED) is js.UNDEFINED


def test_base64_of_utf8() -> None:
    assert js.buffer.base64_of("site123:tok456") == "c2l0ZTEyMzp0b2s0NTY="
    assert js.buffer.base64_of("undefined:undefined") == "dW5kZWZpbmVkOnVuZGVmaW5lZA=="


def test_url_href_matches_node_whatwg_recordings() -> None:
    recorded = json.loads((FIXTURES / "whatwg_urls.json").read_text(encoding="utf-8"))["cases"]
    mismatches = []
    for case in recorded:
        try:
            got = js.url.href(case["url"])
        except js.url.InvalidURL:
            got = None
        if got != case["href"]:
            mismatches.append((case["url"], case["href"], got))
    assert mismatches == [], f"{len(mismatches)} of {len(recorded)} differ: {mismatches[:5]}"


def test_url_href_shortcut_agrees_with_the_full_parser() -> None:
    """href returns an already-canonical URL as it is; on URLs built from the characters that
    decide canonical or not, that must be exactly what the full parser returns."""
    rng = random.Random(7)
    hosts = ["track.customer.io", "track-eu.customer.io", "TRACK.customer.io", "a1.b2", "x.1", "x.0x1f", "xn--a.io",
             "a..b", "x_y.com", "host.", "-a.io", "h:443", "h:8080"]
    pieces = ["a", "Z", "0", ".", "..", "%2e", "%2E", "%", "%41", "@", "+", "~", "!", "$", "'", "(", ";", "=", ":",
              "/", "//", "?", "#", " ", "\\", "ü", "|", "^", "[", "`", "\t"]
    shortcut = 0
    for _ in range(20_000):
        path = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 8)))
        url = f"{rng.choice(['https', 'http', 'HTTPS'])}://{rng.choice(hosts)}/{path}"
        try:
            expected = js.url._parse_href(url)
        except js.url.InvalidURL:
            expected = None
        try:
            got = js.url.href(url)
        except js.url.InvalidURL:
            got = None
        shortcut += got == url
        assert got == expected, url
    assert shortcut > 1000  # the shortcut was taken often enough to be tested


def test_date_parse_shortcut_agrees_with_the_full_parser() -> None:
    """Canonical UTC timestamps are read directly; near-canonical ones must get the same answer
    either way (the full parser is the one checked against V8)."""
    rng = random.Random(11)
    shortcut = 0
    for _ in range(20_000):
        fields = [f"{rng.choice([0, 1, 1970, 2024, 9999, 275760]):04d}", f"{rng.randrange(0, 14):02d}",
                  f"{rng.randrange(0, 33):02d}", f"{rng.randrange(0, 26):02d}", f"{rng.randrange(0, 61):02d}",
                  f"{rng.randrange(0, 61):02d}"]
        text = "{}-{}-{}T{}:{}:{}".format(*fields) + rng.choice(["", ".000", ".5", ".123", ".1234"])
        text += rng.choice(["Z", "Z", "", "+01:00", "z", " "])
        expected = js.dates._parse_in_full(text)
        got = js.dates.date_parse(text)
        assert got == expected or (got != got and expected != expected), text  # NaN equals NaN here
        shortcut += js.dates._CANONICAL_UTC.fullmatch(text) is not None
    assert shortcut > 500

