"""The original plugin, run by our JavaScript engine, against its own recorded traces.

The original's source is never committed. Point CIO_JS_PLUGIN at a checkout of
PostHog/customerio-plugin (a directory with plugin.json and index.ts, or its GitHub zip)
to run these; without it they are skipped, and the fixture-plugin tests still cover the
engine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from plugin.compare import compare_runs
from plugin.conformance import compare_traces, summarize
from plugin.jsengine import JavaScriptEngine, load_source
from plugin.replay import parse_scenarios, replay
from plugin.runtime.engine import load_python_plugin
from plugin.safe_mode import RECOGNIZERS

ORIGINAL = os.environ.get("CIO_JS_PLUGIN")
CONFORMANCE = Path(__file__).resolve().parent.parent / "fixtures" / "conformance"
SETS = [CONFORMANCE, CONFORMANCE / "generated"]

pytestmark = pytest.mark.skipif(not ORIGINAL, reason="set CIO_JS_PLUGIN to the original plugin's source")


def load(directory: Path) -> tuple[list, list]:
    scenarios = parse_scenarios((directory / "scenarios.json").read_text(encoding="utf-8"))
    expected = json.loads((directory / "expected.json").read_text(encoding="utf-8"))
    return scenarios, expected


@pytest.mark.parametrize("directory", SETS, ids=["bundled", "generated"])
async def test_the_original_reproduces_its_recorded_traces(directory: Path) -> None:
    scenarios, expected = load(directory)
    source = load_source(ORIGINAL)
    traces = await replay(scenarios, lambda: JavaScriptEngine.load(source))
    summary = summarize(compare_traces(expected, traces))
    assert summary.parity, summary
    assert summary.steps_exact == summary.steps and summary.storage_equal == summary.scenarios


@pytest.mark.parametrize("compat", ["original", "safe"])
async def test_compare_finds_only_the_listed_deviations(compat: str) -> None:
    scenarios, _ = load(CONFORMANCE)
    source = load_source(ORIGINAL)
    original = await replay(scenarios, lambda: JavaScriptEngine.load(source))
    port = await replay(scenarios, lambda: load_python_plugin("plugin.customerio", compat=compat))
    comparison = compare_runs(original, port, RECOGNIZERS if compat == "safe" else [])
    assert comparison.unexpected == []
    assert (comparison.identical_scenarios == comparison.scenarios) == (compat == "original")
