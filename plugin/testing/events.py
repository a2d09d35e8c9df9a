"""Event factories: realistic onEvent payloads, as the plugin-server hands them to plugins.

In the spirit of the old scaffold's createEvent / createPageview / createIdentify, but
shaped like what posthog-js sends after PostHog's ingestion: a uuid, an ISO timestamp
with milliseconds, `ip` null, the library's properties, and `$set`/`$set_once` shared
with `properties`. Any key can be overridden by keyword.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from ..js.dates import to_iso_string

# `new Date().toISOString()`; the factories' name for it.
iso_timestamp = to_iso_string

TEAM_ID = 2
DEFAULT_TIMESTAMP = "2024-05-01T10:00:00.000Z"


def browser_properties(distinct_id: str, url: str = "https://app.example.com/") -> dict[str, Any]:
    """What posthog-js puts on every event."""
    return {
        "$os": "Mac OS X", "$browser": "Chrome", "$browser_version": 124, "$device_type": "Desktop",
        "$current_url": url, "$host": url.split("/")[2] if "//" in url else "", "$pathname": "/",
        "$lib": "web", "$lib_version": "1.130.0", "$device_id": f"device-{distinct_id}",
        "$session_id": f"session-{distinct_id}", "$screen_height": 1080, "$screen_width": 1920,
        "distinct_id": distinct_id,
    }


def create_event(
    event: str = "signed up",
    distinct_id: str = "user-1",
    properties: dict[str, Any] | None = None,
    *,
    set: dict[str, Any] | None = None,  # PostHog spells it $set
    set_once: dict[str, Any] | None = None,
    timestamp: str = DEFAULT_TIMESTAMP,
    browser: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """One onEvent payload. `set`/`set_once` become `$set`/`$set_once`, also inside properties."""
    props = browser_properties(distinct_id) if browser else {}
    props.update(copy.deepcopy(properties or {}))
    payload: dict[str, Any] = {
        "uuid": str(uuid.uuid4()), "event": event, "distinct_id": distinct_id, "team_id": TEAM_ID,
        "ip": None, "timestamp": timestamp, "properties": props,
    }
    for key, value in (("$set", set), ("$set_once", set_once)):
        if value is not None:
            props[key] = value
            payload[key] = value
    payload.update(overrides)
    return payload


def create_pageview(distinct_id: str = "user-1", url: str = "https://app.example.com/pricing", **kwargs: Any) -> dict:
    properties = {**browser_properties(distinct_id, url), "title": "Pricing", **kwargs.pop("properties", {})}
    return create_event("$pageview", distinct_id, properties, **kwargs)


def create_identify(
    distinct_id: str = "user-1", email: str | None = "user-1@example.com", *, set: dict[str, Any] | None = None,
    anon_distinct_id: str | None = None, **kwargs: Any,
) -> dict[str, Any]:
    """An `$identify`, with the person properties in `$set` (email included unless None)."""
    person = {**({"email": email} if email is not None else {}), **(set or {})}
    properties = dict(kwargs.pop("properties", {}))
    if anon_distinct_id is not None:
        properties["$anon_distinct_id"] = anon_distinct_id
    return create_event("$identify", distinct_id, properties, set=person, **kwargs)
