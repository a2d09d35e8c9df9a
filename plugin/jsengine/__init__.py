"""Run PostHog plugin-server plugins written in JavaScript or TypeScript in embedded V8."""

from .engine import JavaScriptEngine
from .errors import MemoryLimitError, PluginError, PluginLoadError, PluginRetryError
from .source import PluginSource, load_source

__all__ = [
    "JavaScriptEngine", "MemoryLimitError", "PluginError", "PluginLoadError", "PluginRetryError",
    "PluginSource", "load_source",
]
