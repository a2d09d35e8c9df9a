"""Suite-wide settings: local time is UTC unless a test pins another zone."""

from __future__ import annotations

import os
import time

os.environ["TZ"] = "UTC"
time.tzset()


from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from plugin.runtime import Meta  # noqa: E402

NOW_MS = 1_700_000_000_123
CONFIG = {"customerioSiteId": "site123", "customerioToken": "tok456"}
AUTH = "Basic c2l0ZTEyMzp0b2s0NTY="


@pytest.fixture
def make_meta(plugin_meta: Callable[..., Meta]) -> Callable[..., Meta]:
    """The toolkit's plugin_meta with this suite's defaults: CONFIG, and the clock at NOW_MS."""

    def make(config: dict[str, Any] | None = None, storage: dict[str, Any] | None = None,
             now_ms: float = NOW_MS) -> Meta:
        return plugin_meta(CONFIG if config is None else config, storage=storage, now_ms=now_ms)

    return make
