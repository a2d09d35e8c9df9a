"""Compare traces under the conformance rules.

A step matches when `step` and `ok` agree, failures agree on `retry` and `message`
(only `retry` for a SyntaxError, whose wording differs between engines), and the
requests agree one by one on method, normalised URL, headers and the body byte for byte.
Bodies equal only as JSON values are counted apart: they are not parity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import js


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values, where true is not 1 and key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if js.is_number(a) and js.is_number(b):
        return float(a) == float(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _body_as_json(body: Any) -> Any:
    try:
        return js.json.parse(body)
    except (js.JSSyntaxError, TypeError):
        return js.UNDEFINED


@dataclass
class StepReport:
    index: int
    step: str
    problems: list[str] = field(default_factory=list)
    json_only: bool = False  # all that differs is body spelling

    @property
    def exact(self) -> bool:
        return not self.problems and not self.json_only


@dataclass
class ScenarioReport:
    name: str
    steps: list[StepReport] = field(default_factory=list)
    storage_equal: bool = True
    problems: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.storage_equal and not self.problems and all(step.exact for step in self.steps)


def compare_step(index: int, expected: dict[str, Any], actual: dict[str, Any]) -> StepReport:
    report = StepReport(index, expected.get("step", "?"))
    for key in ("step", "ok"):
        if expected.get(key) != actual.get(key):
            report.problems.append(f"{key}: expected {expected.get(key)!r}, got {actual.get(key)!r}")
    if not expected.get("ok") and not actual.get("ok"):
        want, got = expected.get("error", {}), actual.get("error", {})
        if want.get("retry") != got.get("retry"):
            report.problems.append(f"error.retry: expected {want.get('retry')!r}, got {got.get('retry')!r}")
        if want.get("type") != "SyntaxError" and want.get("message") != got.get("message"):
            report.problems.append(f"error.message: expected {want.get('message')!r}, got {got.get('message')!r}")
    want_requests, got_requests = expected.get("requests", []), actual.get("requests", [])
    if len(want_requests) != len(got_requests):
        report.problems.append(f"requests: expected {len(want_requests)}, got {len(got_requests)}")
    for i, (want, got) in enumerate(zip(want_requests, got_requests, strict=False)):
        for key in ("method", "url_normalized", "headers"):
            if want.get(key) != got.get(key):
                report.problems.append(f"requests[{i}].{key}: expected {want.get(key)!r}, got {got.get(key)!r}")
        if want.get("body") != got.get("body"):
            want_json, got_json = _body_as_json(want.get("body")), _body_as_json(got.get("body"))
            if want_json is not js.UNDEFINED and json_equal(want_json, got_json):
                report.json_only = True
            else:
                report.problems.append(f"requests[{i}].body: expected {want.get('body')!r}, got {got.get('body')!r}")
    return report


def compare_traces(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> list[ScenarioReport]:
    by_name = {trace["name"]: trace for trace in actual}
    reports = []
    for want in expected:
        report = ScenarioReport(want["name"])
        got = by_name.get(want["name"])
        if got is None:
            report.problems.append("missing from the replay")
            report.storage_equal = False
            reports.append(report)
            continue
        if len(want["steps"]) != len(got["steps"]):
            report.problems.append(f"steps: expected {len(want['steps'])}, got {len(got['steps'])}")
        pairs = zip(want["steps"], got["steps"], strict=False)
        report.steps = [compare_step(i, w, g) for i, (w, g) in enumerate(pairs)]
        report.storage_equal = json_equal(want.get("storage"), got.get("storage"))
        reports.append(report)
    return reports


@dataclass
class Summary:
    scenarios: int
    scenarios_exact: int
    steps: int
    steps_exact: int
    steps_json_only: int
    storage_equal: int

    @property
    def parity(self) -> bool:
        return self.scenarios == self.scenarios_exact


def summarize(reports: list[ScenarioReport]) -> Summary:
    steps = [step for report in reports for step in report.steps]
    return Summary(
        scenarios=len(reports),
        scenarios_exact=sum(report.exact for report in reports),
        steps=len(steps),
        steps_exact=sum(step.exact for step in steps),
        steps_json_only=sum(step.json_only and not step.problems for step in steps),
        storage_equal=sum(report.storage_equal for report in reports),
    )


def format_report(reports: list[ScenarioReport], limit: int = 20) -> str:
    summary = summarize(reports)
    lines = []
    shown = 0
    for report in reports:
        if report.exact:
            continue
        lines.append(f"✗ {report.name}")
        lines.extend(f"    {problem}" for problem in report.problems)
        if not report.storage_equal:
            lines.append("    storage differs")
        for step in report.steps:
            if step.exact:
                continue
            label = "body equal only as JSON" if not step.problems else "; ".join(step.problems)
            lines.append(f"    step {step.index} ({step.step}): {label}")
            shown += 1
            if shown >= limit:
                lines.append("    …")
                break
    lines.append(
        f"{summary.scenarios_exact}/{summary.scenarios} scenarios identical, "
        f"{summary.steps_exact}/{summary.steps} steps byte-exact"
        + (f" ({summary.steps_json_only} equal only as JSON)" if summary.steps_json_only else "")
        + f", storage equal in {summary.storage_equal}/{summary.scenarios}"
    )
    return "\n".join(lines)
