"""meta.storage: a persistent key/value store per plugin config, with JSON round trips.

As in the plugin-server, `set` stores `JSON.stringify(value)` and `get` returns
`JSON.parse(text)`, so what comes back is what JavaScript would get back: Sets become
`{}`, NaN becomes null, undefined properties vanish. Setting `UNDEFINED` deletes the key.
Keys are limited to 200 characters like the `posthog_pluginstorage.key` column.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from .. import js
from .errors import StorageError

MAX_KEY_LENGTH = 200


class StorageBackend(Protocol):
    """Raw rows: JSON text by (plugin_config_id, key)."""

    def get(self, plugin_config_id: int, key: str) -> str | None: ...

    def set(self, plugin_config_id: int, key: str, value: str) -> None: ...

    def delete(self, plugin_config_id: int, key: str) -> None: ...

    def items(self, plugin_config_id: int) -> list[tuple[str, str]]: ...


class MemoryBackend:
    def __init__(self) -> None:
        self._rows: dict[tuple[int, str], str] = {}

    def get(self, plugin_config_id: int, key: str) -> str | None:
        return self._rows.get((plugin_config_id, key))

    def set(self, plugin_config_id: int, key: str, value: str) -> None:
        self._rows[(plugin_config_id, key)] = value

    def delete(self, plugin_config_id: int, key: str) -> None:
        self._rows.pop((plugin_config_id, key), None)

    def items(self, plugin_config_id: int) -> list[tuple[str, str]]:
        return [(key, value) for (config_id, key), value in self._rows.items() if config_id == plugin_config_id]


class SQLiteBackend:
    """Rows in a SQLite file, in a table shaped like PostHog's `posthog_pluginstorage`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the process being killed (not a power cut), without an fsync each.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS posthog_pluginstorage ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " plugin_config_id INTEGER NOT NULL,"
            " key VARCHAR(200) NOT NULL,"
            " value TEXT NULL,"
            " UNIQUE (plugin_config_id, key))"
        )

    def get(self, plugin_config_id: int, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM posthog_pluginstorage WHERE plugin_config_id = ? AND key = ?",
                (plugin_config_id, key),
            ).fetchone()
        return None if row is None else row[0]

    def set(self, plugin_config_id: int, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO posthog_pluginstorage (plugin_config_id, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (plugin_config_id, key) DO UPDATE SET value = excluded.value",
                (plugin_config_id, key, value),
            )

    def delete(self, plugin_config_id: int, key: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM posthog_pluginstorage WHERE plugin_config_id = ? AND key = ?", (plugin_config_id, key)
            )

    def items(self, plugin_config_id: int) -> list[tuple[str, str]]:
        with self._lock:
            return list(
                self._db.execute(
                    "SELECT key, value FROM posthog_pluginstorage WHERE plugin_config_id = ? ORDER BY id",
                    (plugin_config_id,),
                )
            )

    def close(self) -> None:
        self._db.close()


class Storage:
    """What a plugin calls: `await storage.get(key, default)`, `set`, `delete`."""

    def __init__(self, backend: StorageBackend | None = None, plugin_config_id: int = 1) -> None:
        self.backend: StorageBackend = backend if backend is not None else MemoryBackend()
        self.plugin_config_id = plugin_config_id

    @staticmethod
    def _check_key(key: str) -> str:
        key = js.to_string(key)
        if len(key) > MAX_KEY_LENGTH:
            # The plugin-server surfaced Postgres' own error; keep its words.
            raise StorageError("value too long for type character varying(200)")
        return key

    async def get(self, key: str, default: Any = None) -> Any:
        text = self.backend.get(self.plugin_config_id, self._check_key(key))
        return default if text is None else js.json.parse(text)

    async def set(self, key: str, value: Any) -> None:
        key = self._check_key(key)
        text = js.json.stringify(value)
        if text is js.UNDEFINED:
            self.backend.delete(self.plugin_config_id, key)
        else:
            self.backend.set(self.plugin_config_id, key, text)

    async def delete(self, key: str) -> None:
        self.backend.delete(self.plugin_config_id, self._check_key(key))

    def snapshot(self) -> dict[str, Any]:
        """Everything stored, as parsed JSON values (for traces and tests)."""
        return {key: js.json.parse(text) for key, text in self.backend.items(self.plugin_config_id)}

    def load(self, contents: dict[str, Any]) -> None:
        """Seed rows directly, as a restored database would have them."""
        for key, value in contents.items():
            self.backend.set(self.plugin_config_id, key, js.json.stringify(value))
