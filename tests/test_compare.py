"""`cio-plugin compare` and `replay --engine js`, on our webhook plugin and its JavaScript twin."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from plugin.cli import main
from plugin.compare import Difference, StepPair, compare_runs
from plugin.safe_mode import IDS_ENCODED, RECOGNIZERS, STATUS_DECIDES, UPDATE_AFTER_UPSERT

PLUGINS = Path(__file__).resolve().parent.parent / "fixtures" / "plugins"
SCENARIOS = str(PLUGINS / "webhook_scenarios.json")
PYTHON_TWIN = str(PLUGINS / "webhook.py")
JS_TWIN = PLUGINS / "webhook"
TOKEN = "hook-secret-123"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIO_PLUGIN_CACHE", str(tmp_path / "transpiled"))
    monkeypatch.delenv("CIO_JS_PLUGIN", raising=False)


def changed_twin(tmp_path: Path, old: str, new: str) -> str:
    copy = tmp_path / "twin"
    shutil.copytree(JS_TWIN, copy)
    index = copy / "index.js"
    index.write_text(index.read_text().replace(old, new))
    return str(copy)


def test_both_engines_give_the_same_traces(tmp_path: Path) -> None:
    python_out, js_out = tmp_path / "py.json", tmp_path / "js.json"
    assert main(["replay", SCENARIOS, "--plugin", PYTHON_TWIN, "-o", str(python_out)]) == 0
    assert main(["replay", SCENARIOS, "--engine", "js", "--js-plugin", str(JS_TWIN), "-o", str(js_out)]) == 0
    python_traces, js_traces = json.loads(python_out.read_text()), json.loads(js_out.read_text())
    for trace in python_traces + js_traces:
        trace["steps"][0].pop("logs")
    assert js_traces == python_traces
    failures = js_traces[1]["steps"]
    assert [(s["ok"], s.get("error", {}).get("retry")) for s in failures[1:]] == [
        (False, True), (False, False), (True, None), (False, False)]
    assert failures[4]["error"]["message"] == (
        "request to https://hooks.example.com/hook failed, reason: ECONNRESET")


def test_twins_compare_equal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", SCENARIOS, "--plugin", PYTHON_TWIN, "--js-plugin", str(JS_TWIN)]) == 0
    assert "2/2 scenarios identical; 0 unexpected differences; 0 intended" in capsys.readouterr().out


def test_a_body_difference_is_shown_as_a_json_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twin = changed_twin(tmp_path, "n: sent,", "n: sent, v: 2,")
    report = tmp_path / "report.json"
    assert main(["compare", SCENARIOS, "--plugin", PYTHON_TWIN, "--js-plugin", twin, "--json", str(report)]) == 1
    out = capsys.readouterr().out
    assert "    step 1: requests[0].body $.v  [UNEXPECTED]\n        original: 2\n        port:     <absent>" in out
    assert out.rstrip().endswith("0/2 scenarios identical; 7 unexpected differences; 0 intended")
    data = json.loads(report.read_text())
    assert data["unexpected"] == 7 and data["differences"][0]["where"] == "requests[0].body $.v"


def test_outcome_and_storage_differences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twin = changed_twin(tmp_path, "status >= 400", "status >= 499")
    assert main(["compare", SCENARIOS, "--plugin", PYTHON_TWIN, "--js-plugin", twin]) == 1
    out = capsys.readouterr().out
    assert "step 2: ok  [UNEXPECTED]\n        original: true\n        port:     false" in out
    assert "storage sent/u1  [UNEXPECTED]\n        original: 2\n        port:     1" in out


def test_secrets_never_reach_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twin = changed_twin(tmp_path, "Bearer ${config.token}", "Token ${config.token}")
    report = tmp_path / "report.json"
    assert main(["compare", SCENARIOS, "--plugin", PYTHON_TWIN, "--js-plugin", twin, "--json", str(report)]) == 1
    captured = capsys.readouterr()
    shown = "requests[0].headers.Authorization  [UNEXPECTED]\n        original: Token ***\n        port:     Bearer ***"
    assert shown in captured.out
    for text in (captured.out, captured.err, report.read_text()):
        assert TOKEN not in text


def test_an_event_stream_with_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"event": "a", "distinct_id": "u1"}\nnot json\n\n[1]\n{"event": "b", "distinct_id": "u1"}\n')
    config = tmp_path / "config.toml"
    config.write_text(f'token = "{TOKEN}"\n')
    code = main(["compare", str(events), "--plugin", PYTHON_TWIN, "--js-plugin", str(JS_TWIN), "--config", str(config)])
    captured = capsys.readouterr()
    assert code == 0
    assert "1 scenarios, 3 steps" in captured.out
    assert f"{events}:2: skipped, not valid JSON" in captured.err
    assert f"{events}:4: skipped, an event must be a JSON object" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", SCENARIOS, "--engine", "js"], "the JavaScript engine needs the plugin's source: --js-plugin PATH"),
        (["compare", SCENARIOS, "--plugin", PYTHON_TWIN, "--js-plugin", "nowhere"], "JavaScript plugin not found"),
        (["compare", SCENARIOS, "--plugin", PYTHON_TWIN, "--js-plugin", str(JS_TWIN), "--config", "x.json"],
         "--config applies to event streams"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_an_event_stream_needs_a_valid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"event": "a", "distinct_id": "u1"}\n')
    assert main(["compare", str(events), "--plugin", PYTHON_TWIN, "--js-plugin", str(JS_TWIN)]) == 2
    assert "invalid config: token (Bearer token) is required" in capsys.readouterr().err


def step(url: str, body: str = "{}", error: dict | None = None) -> dict:
    result = {"step": "onEvent", "ok": error is None, "requests": [
        {"method": "POST", "url": url, "url_normalized": url, "headers": {}, "body": body}]}
    if error:
        result["error"] = error
    return result


def test_safe_mode_recognizers() -> None:
    original = [{"name": "s", "storage": {"customer-status/a b": ["seen"]}, "steps": [
        step("https://t/api/v1/customers/a#b", '{"_update":true}'),
        step("https://t/x", error={"type": "SyntaxError", "retry": False, "message": "Unexpected token"}),
        step("https://t/y", '{"a":1}'),
    ]}]
    port = [{"name": "s", "storage": {"customer-status/a b": ["seen", "created"]}, "steps": [
        step("https://t/api/v1/customers/a%23b", '{"_update":false}'),
        step("https://t/x", error={"type": "RetryError", "retry": True, "message": "Customer.io answered 502"}),
        step("https://t/y", '{"a":2}'),
    ]}]
    comparison = compare_runs(original, port, RECOGNIZERS)
    assert [(d.step, d.where, d.intended) for d in comparison.differences] == [
        (0, "requests[0].url", IDS_ENCODED),
        (0, "requests[0].body $._update", UPDATE_AFTER_UPSERT),
        (1, "error.type", STATUS_DECIDES),
        (1, "error.retry", STATUS_DECIDES),
        (1, "error.message", STATUS_DECIDES),
        (2, "requests[0].body $.a", None),
        (None, "storage customer-status/a b", UPDATE_AFTER_UPSERT),
    ]
    assert [d.where for d in comparison.unexpected] == ["requests[0].body $.a"]
    assert RECOGNIZERS[0](Difference("s", 0, "requests[0].url", "x", "y"), StepPair(None, None)) is None
