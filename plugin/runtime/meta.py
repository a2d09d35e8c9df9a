"""The `meta` object handed to every plugin hook."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .cache import Cache
from .clock import Clock
from .console import Console
from .fetch import Fetch
from .storage import Storage


@dataclass
class Meta:
    """config is read-only and verbatim; global_ is the plugin's own scratch space
    (JavaScript's `global`, renamed because `global` is a Python keyword)."""

    config: Mapping[str, Any]
    storage: Storage
    cache: Cache
    console: Console
    fetch: Fetch
    clock: Clock
    attachments: Mapping[str, Any] = field(default_factory=dict)
    global_: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.config = MappingProxyType(dict(self.config))
