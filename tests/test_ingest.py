"""Event streams: capture payloads normalised like the plugin-server, bad lines reported and skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from plugin.ingest import BadLine, Event, normalize, read_events

NOW = datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)


def test_capture_payload_becomes_an_onevent_payload() -> None:
    payload = normalize({"api_key": "phc_x", "event": "paid", "timestamp": "2024-05-01T12:00:00+02:00",
                         "properties": {"distinct_id": 42, "$set": {"plan": "pro"}, "amount": 3},
                         "$set": {"email": "a@b.co"}, "$set_once": {"first": "x"}}, now=NOW)
    assert payload["distinct_id"] == "42" and payload["ip"] is None and payload["team_id"] == 1
    assert payload["timestamp"] == "2024-05-01T10:00:00.000Z"
    assert payload["$set"] == {"plan": "pro", "email": "a@b.co"}
    assert payload["properties"]["$set"] is payload["$set"]
    assert payload["$set_once"] == payload["properties"]["$set_once"] == {"first": "x"}
    assert normalize({"event": "e", "distinct_id": "u"}, now=NOW)["timestamp"] == "2024-05-01T10:00:00.123Z"


def test_a_stream_with_batches_bad_lines_and_a_resume(tmp_path: Path) -> None:
    stream = tmp_path / "events.jsonl"
    stream.write_text(
        '{"event": "a", "distinct_id": "u1"}\n'
        'oops\n'
        '\n'
        '{"batch": [{"event": "b", "properties": {"distinct_id": "u2"}}, {"event": "c"}]}\n'
        '["not", "an", "object"]\n'
        '{"event": "d", "distinct_id": "u3", "timestamp": "yesterday"}\n'
        '{"event": "e", "distinct_id": "u4"}\n'
    )
    items = list(read_events([str(stream)]))
    events = [(i.line.number, i.payload["event"]) for i in items if isinstance(i, Event)]
    assert events == [(1, "a"), (4, "b"), (7, "e")]
    assert [str(i).split(": ", 1)[1] for i in items if isinstance(i, BadLine)] == [
        "not valid JSON (Expecting value: line 1 column 1 (char 0))",
        "batch[1]: no distinct_id (neither at the top nor in properties)",
        "an event must be a JSON object, got list",
        "'timestamp' is not an ISO 8601 date-time: 'yesterday'",
    ]
    fourth = next(i for i in items if isinstance(i, Event) and i.payload["event"] == "b")
    resumed = list(read_events([str(stream)], {str(stream): (fourth.line.offset, fourth.line.number)}))
    after = [(i.line.number, getattr(i, "payload", {}).get("event")) for i in resumed]
    assert after == [(5, None), (6, None), (7, "e")]
