"""Side-by-side traces of two engines on the same scenarios, and every difference.

Knows nothing about any plugin: differences are found on the trace format, and a list of
`Recognizer`s (for the Customer.io port: plugin/safe_mode.py) may explain some of them as
intended. Whatever no recognizer explains is unexpected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from . import js
from .conformance import json_equal

MISSING = "<absent>"
MIN_SECRET_LENGTH = 4


@dataclass
class Difference:
    scenario: str
    step: int | None  # None: the storage after the scenario
    where: str  # "error.message", "requests[0].url", "requests[0].body $.a.b", "storage customer-status/x"
    original: Any
    port: Any
    intended: str | None = None  # the recognised deviation that explains it

    @property
    def label(self) -> str:
        return self.where if self.step is None else f"step {self.step}: {self.where}"


@dataclass
class StepPair:
    """What a recognizer may look at besides the difference itself."""

    original: dict[str, Any] | None
    port: dict[str, Any] | None


Recognizer = Callable[[Difference, StepPair], str | None]


@dataclass
class Comparison:
    scenarios: int = 0
    steps: int = 0
    identical_scenarios: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def unexpected(self) -> list[Difference]:
        return [d for d in self.differences if d.intended is None]

    @property
    def intended(self) -> Counter[str]:
        return Counter(d.intended for d in self.differences if d.intended is not None)

    def redact(self, secrets: list[str]) -> None:
        """Replace every occurrence of a secret in the differences with `***`.

        Values under 4 characters are left alone: they cannot be told from ordinary text.
        """
        secrets = [secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH]
        for difference in self.differences:
            for name in ("where", "original", "port"):
                setattr(difference, name, _redacted(getattr(difference, name), secrets))

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenarios": self.scenarios,
            "steps": self.steps,
            "identical_scenarios": self.identical_scenarios,
            "unexpected": len(self.unexpected),
            "intended": dict(self.intended),
            "differences": [asdict(d) for d in self.differences],
        }


def _redacted(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {_redacted(k, secrets): _redacted(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, secrets) for v in value]
    return value


def _json_paths(original: Any, port: Any, path: str = "$") -> list[tuple[str, Any, Any]]:
    """Where two JSON values differ, as (JSONPath-like path, original, port)."""
    if isinstance(original, dict) and isinstance(port, dict):
        out = []
        for key in list(original) + [k for k in port if k not in original]:
            child = f"{path}.{key}" if key.isidentifier() else f"{path}[{js.json.stringify(key)}]"
            out += _json_paths(original.get(key, MISSING), port.get(key, MISSING), child)
        return out
    if isinstance(original, list) and isinstance(port, list) and len(original) == len(port):
        pairs = enumerate(zip(original, port, strict=True))
        return [d for i, (a, b) in pairs for d in _json_paths(a, b, f"{path}[{i}]")]
    return [] if json_equal(original, port) else [(path, original, port)]


def _body_differences(where: str, original: Any, port: Any) -> list[tuple[str, Any, Any]]:
    if original == port:
        return []
    try:
        a, b = js.json.parse(original), js.json.parse(port)
    except (js.JSSyntaxError, TypeError):
        return [(where, original, port)]
    paths = _json_paths(a, b)
    # Same JSON value, different spelling (key order, number format): still a byte difference.
    return [(f"{where} {p}", x, y) for p, x, y in paths] or [(f"{where} (same JSON, different bytes)", original, port)]


def step_differences(original: dict[str, Any], port: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    found: list[tuple[str, Any, Any]] = []
    if original.get("ok") != port.get("ok"):
        found.append(("ok", original.get("ok"), port.get("ok")))
    want, got = original.get("error") or {}, port.get("error") or {}
    for key in ("type", "retry", "message"):
        if want.get(key, MISSING) != got.get(key, MISSING):
            found.append((f"error.{key}", want.get(key, MISSING), got.get(key, MISSING)))
    a_requests, b_requests = original.get("requests", []), port.get("requests", [])
    if len(a_requests) != len(b_requests):
        found.append(("requests (count)", len(a_requests), len(b_requests)))
    for i, (a, b) in enumerate(zip(a_requests, b_requests, strict=False)):
        if a.get("method") != b.get("method"):
            found.append((f"requests[{i}].method", a.get("method"), b.get("method")))
        if a.get("url_normalized") != b.get("url_normalized"):
            found.append((f"requests[{i}].url", a.get("url_normalized"), b.get("url_normalized")))
        a_headers, b_headers = a.get("headers", {}), b.get("headers", {})
        for name in list(a_headers) + [h for h in b_headers if h not in a_headers]:
            if a_headers.get(name, MISSING) != b_headers.get(name, MISSING):
                found.append((f"requests[{i}].headers.{name}", a_headers.get(name, MISSING),
                              b_headers.get(name, MISSING)))
        found += _body_differences(f"requests[{i}].body", a.get("body"), b.get("body"))
    return found


def compare_runs(
    original: list[dict[str, Any]], port: list[dict[str, Any]], recognizers: list[Recognizer] = ()
) -> Comparison:
    """Every difference between two lists of traces of the same scenarios."""
    result = Comparison(scenarios=len(original))
    by_name = {trace["name"]: trace for trace in port}
    for trace in original:
        name = trace["name"]
        other = by_name.get(name, {"steps": [], "storage": {}})
        found: list[Difference] = []
        steps = max(len(trace["steps"]), len(other["steps"]))
        result.steps += steps
        for index in range(steps):
            a = trace["steps"][index] if index < len(trace["steps"]) else None
            b = other["steps"][index] if index < len(other["steps"]) else None
            pair = StepPair(a, b)
            if a is None or b is None:
                found.append(_recognized(Difference(name, index, "step", a and a["step"], b and b["step"]),
                                         pair, recognizers))
                continue
            for where, x, y in step_differences(a, b):
                found.append(_recognized(Difference(name, index, where, x, y), pair, recognizers))
        a_store, b_store = trace.get("storage", {}), other.get("storage", {})
        for key in list(a_store) + [k for k in b_store if k not in a_store]:
            x, y = a_store.get(key, MISSING), b_store.get(key, MISSING)
            if x is MISSING or y is MISSING or not json_equal(x, y):
                found.append(_recognized(Difference(name, None, f"storage {key}", x, y), StepPair(None, None),
                                         recognizers))
        result.identical_scenarios += not found
        result.differences += found
    return result


def _recognized(difference: Difference, pair: StepPair, recognizers: list[Recognizer]) -> Difference:
    for recognize in recognizers:
        reason = recognize(difference, pair)
        if reason:
            difference.intended = reason
            break
    return difference


def _show(value: Any) -> str:
    if value == MISSING:
        return MISSING
    text = value if isinstance(value, str) else js.json.stringify(value)
    return text if len(text) <= 160 else text[:157] + "…"


def format_comparison(comparison: Comparison, *, port_label: str, original_label: str, limit: int = 50) -> str:
    lines = [f"Compared {port_label} with {original_label}: {comparison.scenarios} scenarios, "
             f"{comparison.steps} steps."]
    shown = 0
    current = None
    for difference in comparison.differences:
        if shown >= limit:
            lines.append(f"  … {len(comparison.differences) - shown} more (use --json for all)")
            break
        if difference.scenario != current:
            current = difference.scenario
            lines.append(f"✗ {current}")
        tag = f"  [intended: {difference.intended}]" if difference.intended else "  [UNEXPECTED]"
        lines.append(f"    {difference.label}{tag}")
        lines.append(f"        original: {_show(difference.original)}")
        lines.append(f"        port:     {_show(difference.port)}")
        shown += 1
    intended = comparison.intended
    lines.append(
        f"{comparison.identical_scenarios}/{comparison.scenarios} scenarios identical; "
        f"{len(comparison.unexpected)} unexpected differences; "
        + (f"{sum(intended.values())} intended (" + ", ".join(f"{k}: {v}" for k, v in sorted(intended.items())) + ")"
           if intended else "0 intended")
    )
    return "\n".join(lines)
