"""Testing PostHog plugins locally: event factories, a fake Customer.io, a plugin runtime.

The pytest fixtures live in `plugin.testing.pytest_plugin`, loaded automatically by pytest
when this package is installed (entry point `pytest11`).
"""

from .events import create_event, create_identify, create_pageview, iso_timestamp
from .fake_customerio import FakeCustomerIo, TrackRequest
from .runtime import DEFAULT_NOW_MS, PluginRuntime, make_meta

__all__ = [
    "DEFAULT_NOW_MS", "FakeCustomerIo", "PluginRuntime", "TrackRequest", "create_event", "create_identify",
    "create_pageview", "iso_timestamp", "make_meta",
]
