"""The original's recorded traces, replayed on the port in original mode: byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin import conformance
from plugin.replay import parse_scenarios, replay
from plugin.runtime.engine import load_python_plugin

CONFORMANCE = Path(__file__).resolve().parent.parent / "fixtures" / "conformance"
SCENARIOS = parse_scenarios((CONFORMANCE / "scenarios.json").read_text(encoding="utf-8"))
EXPECTED = {t["name"]: t for t in json.loads((CONFORMANCE / "expected.json").read_text(encoding="utf-8"))}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_original_mode_reproduces_the_recorded_trace(scenario) -> None:
    [trace] = await replay([scenario], lambda: load_python_plugin("plugin.customerio", compat="original"))
    [report] = conformance.compare_traces([EXPECTED[scenario.name]], [trace])
    assert report.storage_equal, (EXPECTED[scenario.name]["storage"], trace["storage"])
    problems = {step.index: step.problems or ["body equal only as JSON"] for step in report.steps if not step.exact}
    assert problems == {} and report.problems == []


GENERATED = CONFORMANCE / "generated"


async def test_original_mode_reproduces_the_generated_set() -> None:
    scenarios = parse_scenarios((GENERATED / "scenarios.json").read_text(encoding="utf-8"))
    expected = json.loads((GENERATED / "expected.json").read_text(encoding="utf-8"))
    traces = await replay(scenarios, lambda: load_python_plugin("plugin.customerio", compat="original"))
    summary = conformance.summarize(conformance.compare_traces(expected, traces))
    assert (summary.scenarios, summary.scenarios_exact, summary.storage_equal) == (200, 200, 200)
    assert summary.steps_exact == summary.steps and summary.steps > 800


async def test_safe_mode_differs_only_where_the_readme_says() -> None:
    traces = await replay(SCENARIOS, lambda: load_python_plugin("plugin.customerio", compat="safe"))
    reports = conformance.compare_traces(list(EXPECTED.values()), traces)
    differing = {r.name for r in reports if not r.exact}
    # Storage differs everywhere setup stores credentials (a digest key) or a PUT succeeds ("created").
    assert "distinct_id_characters" in differing
    by_name = {t["name"]: t for t in traces}
    urls = [r["url"] for s in by_name["distinct_id_characters"]["steps"] for r in s["requests"]]
    assert "https://track.customer.io/api/v1/customers/..%2Fx" in urls


def test_comparison_counts_json_only_bodies_apart() -> None:
    want = {"step": "onEvent", "ok": True, "requests": [{"method": "PUT", "url_normalized": "u", "headers": {},
                                                         "body": '{"a":1,"b":2}'}]}
    got = {"step": "onEvent", "ok": True, "requests": [{"method": "PUT", "url_normalized": "u", "headers": {},
                                                        "body": '{"b":2,"a":1.0}'}]}
    report = conformance.compare_step(0, want, got)
    assert report.json_only and not report.problems and not report.exact
