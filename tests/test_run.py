"""The main job: `cio-plugin run` into the embedded emulator, its state, and what the user sees."""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugin.cli import main
from plugin.emulator import SQLiteStore
from plugin.main_job import env_names
from plugin.state import State

SECRET = "sk-test-9f8e7d6c5b4a"


def write_events(path: Path, people: int, per_person: int) -> list[tuple[str, str]]:
    """Events numbered per person, interleaved; returns (person, event name) in input order."""
    order = []
    with path.open("w") as out:
        for n in range(per_person):
            for p in range(people):
                person, name = f"p{p}", f"e{n}"
                event = {"event": name, "distinct_id": person, "timestamp": "2024-05-01T10:00:00.000Z",
                         "properties": {"n": n}}
                if n == 0:
                    event["$set"] = {"email": f"{person}@example.com"}
                out.write(json.dumps(event) + "\n")
                order.append((person, name))
    return order


def run(tmp_path: Path, *args: str) -> int:
    return main(["run", "--state", str(tmp_path / "state.sqlite"), *args])


def delivered(tmp_path: Path) -> list[dict]:
    store = SQLiteStore(tmp_path / "emulator.sqlite")
    try:
        return store.events()
    finally:
        store.close()


def test_runs_into_the_emulator_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    write_events(events, people=5, per_person=4)
    assert run(tmp_path, str(events)) == 0
    out = capsys.readouterr().out
    assert ("20 events read, 20 delivered (20 sent, 0 filtered by the plugin), 0 failed (dead letters), "
            "0 bad lines, 0 retries") in out
    assert "Target: the embedded emulator." in out
    assert len(delivered(tmp_path)) == 20
    assert main(["inspect", "--state", str(tmp_path / "state.sqlite"), "--json"]) == 0
    seen = json.loads(capsys.readouterr().out)
    assert {p["id"]: p["attributes"]["email"] for p in seen["people"]} == {f"p{i}": f"p{i}@example.com"
                                                                       for i in range(5)}
    # A rerun resumes after the checkpoint: nothing is sent twice.
    assert run(tmp_path, str(events), "--json") == 0
    assert json.loads(capsys.readouterr().out)["read"] == 0
    assert len(delivered(tmp_path)) == 20


def test_events_the_plugin_filters_are_counted_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    write_events(events, people=5, per_person=4)  # e0 .. e3 for each person
    assert run(tmp_path, str(events), "--set", "eventsToSend=e0,e2", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["read"], summary["delivered"], summary["filtered"], summary["failed"]) == (20, 20, 10, 0)
    assert sorted({e["name"] for e in delivered(tmp_path)}) == ["e0", "e2"]


def test_bad_lines_are_reported_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"event": "a", "distinct_id": "u1"}\n{oops\n{"event": "b"}\n{"event": "c", "distinct_id": "u1"}\n'
    )
    assert run(tmp_path, str(events), "--json") == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["read"], summary["delivered"], summary["bad_lines"]) == (2, 2, 2)
    assert f"skipped {events}:2: not valid JSON" in captured.err
    assert f"skipped {events}:3: no distinct_id (neither at the top nor in properties)" in captured.err


def test_faults_end_delivered_or_dead_lettered_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    order = write_events(events, people=500, per_person=20)  # 10,000 events
    code = run(tmp_path, str(events), "--json", "--error-rate", "0.1", "--throttle-rate", "0.05",
               "--retry-after", "0", "--drop-rate", "0.02", "--max-attempts", "3", "--retry-cap", "0.01")
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["read"] == 10_000 and summary["retries"] > 0
    assert summary["delivered"] + summary["failed"] == 10_000
    assert main(["dead-letters", "list", "--state", str(tmp_path / "state.sqlite"), "--json"]) == 0
    letters = json.loads(capsys.readouterr().out)
    assert len(letters) == summary["failed"] == summary["dead_letters"]
    assert all(letter["attempts"] == 3 and letter["error"] for letter in letters)
    dead = {(letter["event"]["distinct_id"], letter["event"]["event"]) for letter in letters}
    tracked = [(e["customer_id"], e["name"]) for e in delivered(tmp_path)]
    # Every event ended somewhere (tracked, or dead-lettered; an identify may be tracked
    # before its track call failed), and each person's events reached Customer.io in order.
    assert {pair for pair in order} <= set(tracked) | dead
    for person in {p for p, _ in order}:
        sent = [name for p, name in tracked if p == person]
        assert sent == sorted(set(sent), key=lambda name: int(name[1:])), person


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "customerio"],
         "invalid config: customerioSiteId (Customer.io Site ID) is required; customerioToken (Customer.io API Key) "
         "is required"),
        (["--set", "host=track.example.com"],
         "invalid config: host='track.example.com' is not allowed; choose one of: 'track.customer.io', "
         "'track-eu.customer.io'"),
        (["--set", "colour=blue"], "invalid config: unknown config key 'colour'"),
        (["--set", "identifyByEmail"], "--set takes KEY=VALUE, got 'identifyByEmail'"),
        (["--error-rate", "3"], "error_rate must be between 0 and 1, got 3.0"),
    ],
)
def test_bad_config_exits_2_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                            message: str) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"event": "a", "distinct_id": "u1"}\n')
    assert run(tmp_path, str(events), *args) == 2
    assert message in capsys.readouterr().err


def test_config_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert env_names("customerioToken") == ["CUSTOMERIO_TOKEN", "CUSTOMERIO_API_KEY"]
    assert env_names("sendEventsFromAnonymousUsers") == ["CUSTOMERIO_SEND_EVENTS_FROM_ANONYMOUS_USERS"]
    config = tmp_path / "config.toml"
    config.write_text('identifyByEmail = "Maybe"\n')
    monkeypatch.setenv("CUSTOMERIO_API_KEY", SECRET)
    events = tmp_path / "events.jsonl"
    events.write_text('{"event": "a", "distinct_id": "u1"}\n')
    assert run(tmp_path, str(events), "--config", str(config)) == 2
    err = capsys.readouterr().err
    assert err == "cio-plugin: invalid config: identifyByEmail='Maybe' is not allowed; choose one of: 'Yes', 'No'\n"
    config.write_text('identifyByEmail = "Yes"\n')
    assert run(tmp_path, str(tmp_path / "missing.jsonl"), "--config", str(config)) == 2
    assert capsys.readouterr().err == f"cio-plugin: input not found: {tmp_path / 'missing.jsonl'}\n"


def test_secrets_never_reach_output_logs_or_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    write_events(events, people=3, per_person=3)
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", "site-4711")
    monkeypatch.setenv("CUSTOMERIO_API_KEY", SECRET)
    assert run(tmp_path, str(events), "--log-level", "debug", "--error-rate", "0.3", "--max-attempts", "2",
               "--retry-cap", "0.01") == 0
    main(["dead-letters", "list", "--state", str(tmp_path / "state.sqlite")])
    captured = capsys.readouterr()
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and p.suffix != ".jsonl")
    encoded = base64.b64encode(f"site-4711:{SECRET}".encode())
    for text in (captured.out.encode(), captured.err.encode(), files):
        assert SECRET.encode() not in text and encoded not in text


def test_sigkill_mid_run_loses_nothing(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    order = write_events(events, people=40, per_person=50)  # 2,000 events
    command = [sys.executable, "-m", "plugin", "run", str(events), "--state", str(tmp_path / "state.sqlite"),
               "--latency-ms", "5", "--json"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill once a good part has been delivered
        time.sleep(0.2)
        if (tmp_path / "emulator.sqlite").exists() and len(delivered(tmp_path)) > 400:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    before = len(delivered(tmp_path))
    assert 0 < before < 2000, "the kill should land mid-run"
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    summary = json.loads(rerun.stdout)
    tracked = [(e["customer_id"], e["name"]) for e in delivered(tmp_path)]
    assert set(tracked) == set(order)  # nothing lost
    duplicates = len(tracked) - len(set(tracked))
    assert duplicates <= 32  # at most what was in flight (--concurrency) at the kill
    assert summary["read"] < 2000  # the rerun resumed from the checkpoint
    with sqlite3.connect(tmp_path / "state.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0] == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_stop_cleanly_and_a_rerun_finishes(tmp_path: Path, signum: int) -> None:
    events = tmp_path / "events.jsonl"
    order = write_events(events, people=20, per_person=30)  # 600 events
    command = [sys.executable, "-m", "plugin", "run", str(events), "--state", str(tmp_path / "state.sqlite"),
               "--latency-ms", "20", "--concurrency", "8", "--json"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # stop once some have been delivered
        time.sleep(0.1)
        if (tmp_path / "emulator.sqlite").exists() and len(delivered(tmp_path)) > 50:
            break
    child.send_signal(signum)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 130
    first = json.loads(out)
    assert first["interrupted"] and 0 < first["read"] < 600
    assert first["read"] == first["delivered"] + first["failed"]  # what was in flight finished
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    second = json.loads(rerun.stdout)
    assert first["read"] + second["read"] == 600  # the rerun starts where the stop left off
    tracked = [(e["customer_id"], e["name"]) for e in delivered(tmp_path)]
    assert sorted(tracked) == sorted(order)  # everything once: nothing lost, nothing twice


def test_dead_letters_can_be_retried(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    order = write_events(events, people=10, per_person=3)
    assert run(tmp_path, str(events), "--json", "--error-rate", "0.5", "--retry", "posthog-2023") == 0
    failed = json.loads(capsys.readouterr().out)["failed"]
    assert failed > 0
    state = ["--state", str(tmp_path / "state.sqlite")]
    assert main(["dead-letters", "list", *state]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith(f"{failed} dead letters in ")
    assert "after 1 attempts: RetryError: Received a potentially intermittent error from the Customer.io API. " \
        "Response 500" in listing
    assert main(["dead-letters", "retry", *state, "--json"]) == 0
    retried = json.loads(capsys.readouterr().out)
    assert (retried["read"], retried["delivered"], retried["dead_letters"]) == (failed, failed, 0)
    assert {(e["customer_id"], e["name"]) for e in delivered(tmp_path)} == set(order)


def test_state_checkpoint_folds_in_lines_done_past_it(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite")
    assert state.done_lines("a.jsonl") == set()
    state.save_checkpoint("a.jsonl", 10, 1)
    state.mark_done("a.jsonl", 3)
    state.mark_done("a.jsonl", 5)
    state.close()  # killed while line 2 was still running

    again = State(tmp_path / "state.sqlite")
    assert again.checkpoints() == {"a.jsonl": (10, 1)}
    again.save_checkpoint("a.jsonl", 40, 4)  # before done_lines() was ever asked: still folds line 3 in
    assert again.done_lines("a.jsonl") == {5}
    again.save_checkpoint("a.jsonl", 60, 6)
    assert again.done_lines("a.jsonl") == set() and again.checkpoints() == {"a.jsonl": (60, 6)}
    again.mark_done("a.jsonl", 9)
    again.save_checkpoint("a.jsonl", 70, 7)
    again.close()
    assert State(tmp_path / "state.sqlite").done_lines("a.jsonl") == {9}
