"""The command line: replay output, files, exit statuses, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin.cli import main

CONFORMANCE = Path(__file__).resolve().parent.parent / "fixtures" / "conformance"
SCENARIOS = str(CONFORMANCE / "scenarios.json")


def test_bundled_replay_prints_the_parity_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay"]) == 0
    out = capsys.readouterr().out
    assert "16/16 scenarios identical, 93/93 steps byte-exact, storage equal in 16/16" in out


def test_replay_prints_traces_in_the_documented_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", SCENARIOS]) == 0
    traces = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in traces][:2] == ["basic_default", "credentials_cached"]
    step = traces[2]["steps"][0]
    message = 'Customer.io Site ID or API Key invalid! Response 401: {"meta":{"error":"Unauthorized request"}}'
    assert step["error"] == {"type": "Error", "retry": False, "message": message}
    assert set(step["requests"][0]) == {"method", "url", "url_normalized", "headers", "body"}


def test_replay_writes_a_file_and_safe_mode_differs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "traces.json"
    code = main(["replay", SCENARIOS, "--compat", "safe", "-o", str(out),
                 "--expect", str(CONFORMANCE / "expected.json")])
    assert code == 1  # safe mode deviates on purpose
    assert len(json.loads(out.read_text())) == 16
    assert "storage differs" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"),
     ('{"a": 1}', "the top level must be a list"),
     ('[{"name": "x", "now_ms": 1, "config": {}, "events": [{"evt": {}}]}]',
      "scenario #0 (x): events[0] must be an object with an 'event' object"),
     ('[{"name": "x", "now_ms": 1, "config": {}, "events": [], "responses": [{"status": "500"}]}]',
      "'status' must be a int")],
)
def test_malformed_scenarios_exit_2(tmp_path: Path, capsys, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["replay", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "/nonexistent/scenarios.json"]) == 2
    assert "No such file" in capsys.readouterr().err
