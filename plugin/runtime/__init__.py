"""An emulation of the PostHog plugin-server runtime around a plugin.

It knows nothing about any particular plugin: it offers `meta` (config, global, storage,
cache, attachments), console capture, fetch, RetryError, and a host that runs hooks with
PostHog's lifecycle and retry rules.
"""

from .cache import Cache
from .clock import Clock, FrozenClock, SystemClock
from .console import Console, LogEntry, LogLevel, LogSource
from .errors import ConfigError, HostError, ManifestError, RetryError, StorageError, error_message, error_name
from .fetch import CallRecord, Fetch, FetchCall, FetchError, Response
from .meta import Meta
from .storage import MemoryBackend, SQLiteBackend, Storage

__all__ = [
    "Cache", "CallRecord", "Clock", "ConfigError", "Console", "Fetch", "FetchCall", "FetchError",
    "FrozenClock", "HostError", "LogEntry", "LogLevel", "LogSource", "ManifestError", "MemoryBackend",
    "Meta", "Response", "RetryError", "SQLiteBackend", "Storage", "StorageError", "SystemClock",
    "error_message", "error_name",
]
