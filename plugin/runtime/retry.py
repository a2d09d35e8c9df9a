"""onEvent retry policies, chosen by name.

- `posthog-2023`: one attempt; any error is logged and the event is lost (PostHog,
  Aug 2023 - 2024, the era the Customer.io onEvent plugin ran under).
- `posthog-2022`: RetryError gets 5 attempts, waiting 5, 10, 20 and 40 s (PR #10285).
- `reliable` (the default): RetryError gets exponential backoff with full jitter,
  honouring a Retry-After header on the last 429/503 answer; attempts and cap are options.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

from .errors import RetryError
from .fetch import FetchCall


class RetryPolicy(Protocol):
    name: str
    max_attempts: int

    def delay(self, attempt: int, error: BaseException, calls: Sequence[FetchCall]) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        ...


@dataclass(frozen=True)
class SingleAttempt:
    name: str = "posthog-2023"
    max_attempts: int = 1

    def delay(self, attempt: int, error: BaseException, calls: Sequence[FetchCall]) -> float | None:
        return None


@dataclass(frozen=True)
class FixedSchedule:
    name: str = "posthog-2022"
    waits: tuple[float, ...] = (5.0, 10.0, 20.0, 40.0)

    @property
    def max_attempts(self) -> int:
        return len(self.waits) + 1

    def delay(self, attempt: int, error: BaseException, calls: Sequence[FetchCall]) -> float | None:
        if not isinstance(error, RetryError) or attempt > len(self.waits):
            return None
        return self.waits[attempt - 1]


@dataclass(frozen=True)
class Backoff:
    name: str = "reliable"
    max_attempts: int = 8
    base: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int, error: BaseException, calls: Sequence[FetchCall]) -> float | None:
        if not isinstance(error, RetryError) or attempt >= self.max_attempts:
            return None
        backoff = self.rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
        asked = retry_after(calls)
        if asked is not None:
            return max(backoff, min(asked, self.max_retry_after))
        return backoff


def retry_after(calls: Sequence[FetchCall]) -> float | None:
    """Seconds a server asked to wait, from the last 429/503 answer's Retry-After."""
    for call in reversed(calls):
        if call.status in (429, 503) and call.response_headers is not None:
            value = call.response_headers.get("retry-after")
            if value is None:
                return None
            value = value.strip()
            if value.isdigit():
                return float(value)
            try:
                moment = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            return max(0.0, (moment - datetime.now(UTC)).total_seconds())
        if call.status is not None:
            return None
    return None


POLICIES = ("posthog-2023", "posthog-2022", "reliable")


def retry_policy(name: str, *, max_attempts: int | None = None, cap: float | None = None) -> RetryPolicy:
    """A policy by name; `max_attempts` and `cap` tune `reliable`."""
    if name == "posthog-2023":
        return SingleAttempt()
    if name == "posthog-2022":
        return FixedSchedule()
    if name == "reliable":
        options: dict[str, float | int] = {}
        if max_attempts is not None:
            if max_attempts < 1:
                raise ValueError("max_attempts must be at least 1")
            options["max_attempts"] = max_attempts
        if cap is not None:
            options["cap"] = cap
        return Backoff(**options)  # type: ignore[arg-type]
    raise ValueError(f"unknown retry policy {name!r}; choose one of: {', '.join(POLICIES)}")
