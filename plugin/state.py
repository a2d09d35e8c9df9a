"""The main job's state in one SQLite file: plugin storage (shaped like PostHog's
posthog_pluginstorage), the input checkpoint, and the dead letters."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .runtime.storage import SQLiteBackend

DEFAULT_STATE = Path(".cio-plugin") / "state.sqlite"
_UPSERT_CHECKPOINT = ("INSERT INTO checkpoints VALUES (?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET "
                      "byte_offset = excluded.byte_offset, line = excluded.line, updated_at = excluded.updated_at")


@dataclass
class DeadLetter:
    id: int
    source: str
    line: int
    event: dict[str, Any]
    error: str
    attempts: int
    failed_at: float


class State:
    def __init__(self, path: str | Path = DEFAULT_STATE) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.storage = SQLiteBackend(self.path)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        # The highest line in done_lines per source (0: none; absent: not known yet), so checkpoints
        # skip an empty DELETE.
        self._done_up_to: dict[str, int] = {}
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the process being killed (not a power cut), without an fsync each.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS checkpoints (source TEXT PRIMARY KEY, "
                         "byte_offset INTEGER NOT NULL, line INTEGER NOT NULL, updated_at REAL NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS done_lines (source TEXT NOT NULL, line INTEGER NOT NULL, "
                         "PRIMARY KEY (source, line))")
        self._db.execute("CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "source TEXT NOT NULL, line INTEGER NOT NULL, event TEXT NOT NULL, error TEXT NOT NULL, "
                         "attempts INTEGER NOT NULL, failed_at REAL NOT NULL)")

    # ---- checkpoint: where each input file has been delivered up to ---------------------
    def checkpoints(self) -> dict[str, tuple[int, int]]:
        rows = self._db.execute("SELECT source, byte_offset, line FROM checkpoints")
        return {row[0]: (row[1], row[2]) for row in rows}

    def save_checkpoint(self, source: str, offset: int, line: int) -> None:
        """Everything up to `line` is done; lines done past it stay in done_lines."""
        if self._done_up_to.get(source) == 0:  # no done_lines rows to fold in: one statement
            self._db.execute(_UPSERT_CHECKPOINT, (source, offset, line, time.time()))
            return
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM done_lines WHERE source = ? AND line <= ?", (source, line))
        self._db.execute(_UPSERT_CHECKPOINT, (source, offset, line, time.time()))
        self._db.execute("COMMIT")
        highest = self._done_up_to.get(source)
        if highest is None:  # not known yet: ask once
            highest = self._db.execute("SELECT MAX(line) FROM done_lines WHERE source = ?", (source,)).fetchone()[0]
        self._done_up_to[source] = 0 if highest is None or highest <= line else highest

    def reset(self, source: str) -> None:
        """Forget the progress through `source` (a file that was rewritten)."""
        self._db.execute("DELETE FROM checkpoints WHERE source = ?", (source,))
        self._db.execute("DELETE FROM done_lines WHERE source = ?", (source,))
        self._done_up_to.pop(source, None)

    def mark_done(self, source: str, line: int) -> None:
        """A line past the checkpoint is done (lines before it are still running)."""
        self._db.execute("INSERT OR IGNORE INTO done_lines VALUES (?, ?)", (source, line))
        self._done_up_to[source] = max(self._done_up_to.get(source, 0), line)

    def done_lines(self, source: str) -> set[int]:
        lines = {row[0] for row in self._db.execute("SELECT line FROM done_lines WHERE source = ?", (source,))}
        self._done_up_to[source] = max(lines, default=0)
        return lines

    # ---- dead letters ---------------------------------------------------------------------
    def add_dead_letter(self, source: str, line: int, event: dict[str, Any], error: str, attempts: int) -> None:
        self._db.execute("INSERT INTO dead_letters (source, line, event, error, attempts, failed_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (source, line, json.dumps(event, ensure_ascii=False), error, attempts, time.time()))

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._db.execute("SELECT id, source, line, event, error, attempts, failed_at FROM dead_letters "
                                "ORDER BY id")
        return [DeadLetter(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6]) for r in rows]

    def remove_dead_letter(self, letter_id: int) -> None:
        self._db.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,))

    def close(self) -> None:
        self._db.close()
        self.storage.close()
