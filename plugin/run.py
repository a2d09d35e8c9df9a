"""The main job: stream events through a plugin host into Customer.io (or the emulator).

At-least-once: an input line is checkpointed only when every event before it has ended
(delivered, filtered, or dead-lettered), so a rerun after a crash resumes at the first line
that may not have ended; only what was in flight can be sent twice. Events of one person
run one at a time in input order (the plugin's per-person status depends on it); different
people run in parallel, up to `concurrency` events in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from .ingest import BadLine, Event, Line, read_events
from .runtime import Cache, Console, Fetch, Meta, Storage, SystemClock
from .runtime.console import LogEntry, LogLevel, LogSource
from .runtime.engine import Engine
from .runtime.errors import error_message, error_name
from .runtime.host import PluginHost
from .runtime.retry import RetryPolicy
from .state import State

CHECKPOINT_EVERY_SECONDS = 0.2
STOP_GRACE_SECONDS = 5.0


@dataclass
class Counters:
    read: int = 0
    delivered: int = 0
    failed: int = 0
    bad_lines: int = 0
    retries: int = 0
    in_flight: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        done = self.delivered + self.failed
        return done / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Summary:
    read: int
    delivered: int
    failed: int
    bad_lines: int
    retries: int
    seconds: float
    events_per_second: float
    dead_letters: int
    state: str
    interrupted: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Progress:
    """Per input file: lines in order, each done when all its events have ended."""

    def __init__(self) -> None:
        self.lines: deque[list[Any]] = deque()  # [line, events still running, sealed]

    def open(self, line: Line) -> list[Any]:
        if self.lines and not self.lines[-1][2]:
            self.lines[-1][2] = True
        entry = [line, 0, False]
        self.lines.append(entry)
        return entry

    def seal_all(self) -> None:
        for entry in self.lines:
            entry[2] = True

    def advance(self) -> Line | None:
        done = None
        while self.lines and self.lines[0][2] and self.lines[0][1] == 0:
            done = self.lines.popleft()[0]
        return done


class Runner:
    def __init__(
        self,
        engine: Engine,
        state: State,
        client: httpx.AsyncClient,
        config: dict[str, Any],
        *,
        retry: RetryPolicy | str = "reliable",
        concurrency: int = 32,
        log: Callable[[LogEntry], None] | None = None,
        log_level: LogLevel = LogLevel.WARN,
    ) -> None:
        clock = SystemClock()
        console = Console(clock.now_ms, log, log_level) if log else Console(clock.now_ms, lambda _: None)
        self.meta = Meta(config=config, storage=Storage(state.storage), cache=Cache(clock=clock), console=console,
                         fetch=Fetch(client), clock=clock)
        self.host = PluginHost(engine, self.meta, retry=retry)
        self.state = state
        self.concurrency = concurrency
        self.counters = Counters()
        self._progress: dict[str, _Progress] = {}
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_checkpoint = 0.0
        self._unsaved: dict[str, Line] = {}  # lines done but not yet in the state file

    async def run(self, inputs: list[str], stop: asyncio.Event | None = None) -> Summary:
        stop = stop or asyncio.Event()
        slots = asyncio.Semaphore(self.concurrency)
        resume = self.state.checkpoints()
        current: dict[str, list[Any]] = {}
        for item in read_events(inputs, resume):
            if stop.is_set():
                break
            line = item.line
            progress = self._progress.setdefault(line.source, _Progress())
            entry = current.get(line.source)
            if entry is None or entry[0].number != line.number:
                entry = current[line.source] = progress.open(line)
            if isinstance(item, BadLine):
                self.counters.bad_lines += 1
                self.meta.console.write(LogSource.SYSTEM, LogLevel.WARN, f"skipped {item}")
                self._checkpoint(line.source)
                continue
            self.counters.read += 1
            entry[1] += 1
            await slots.acquire()
            if stop.is_set():
                entry[1] -= 1
                slots.release()
                break
            self._start(item, entry, slots)
            await asyncio.sleep(0)  # let finished events report between lines
        for progress in self._progress.values():
            progress.seal_all()
        interrupted = stop.is_set()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_SECONDS if interrupted else None)
            for task in pending:  # still retrying: not checkpointed, so a rerun delivers them
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for source in self._progress:
            self._checkpoint(source, force=True)
        await self.host.close()
        c = self.counters
        return Summary(c.read, c.delivered, c.failed, c.bad_lines, c.retries, round(c.seconds, 3),
                       round(c.rate, 1), len(self.state.dead_letters()), str(self.state.path), interrupted)

    def _start(self, item: Event, entry: list[Any], slots: asyncio.Semaphore) -> None:
        person = str(item.payload.get("distinct_id"))
        previous = self._tails.get(person)

        async def deliver() -> None:
            try:
                if previous is not None:
                    await asyncio.gather(previous, return_exceptions=True)
                self.counters.in_flight += 1
                outcome = await self.host.on_event(item.payload)
                self.counters.retries += max(outcome.attempts - 1, 0)
                if outcome.ok:
                    self.counters.delivered += 1
                else:
                    self.counters.failed += 1
                    error = outcome.error
                    reason = f"{error_name(error)}: {error_message(error)}" if error else outcome.status
                    if outcome.status == "skipped":
                        reason = f"the plugin is disabled (setupPlugin failed): {reason}"
                    self.state.add_dead_letter(item.line.source, item.line.number, item.payload, reason,
                                               outcome.attempts)
                entry[1] -= 1
                self._checkpoint(item.line.source)
            finally:
                self.counters.in_flight = max(self.counters.in_flight - 1, 0)
                slots.release()
                if self._tails.get(person) is task:
                    del self._tails[person]

        task = asyncio.ensure_future(deliver())
        self._tails[person] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _checkpoint(self, source: str, *, force: bool = False) -> None:
        progress = self._progress.get(source)
        if progress is None:
            return
        done = progress.advance()
        if done is not None:
            self._unsaved[source] = done
        now = time.monotonic()
        if self._unsaved and (force or now - self._last_checkpoint >= CHECKPOINT_EVERY_SECONDS):
            for name, line in self._unsaved.items():
                self.state.save_checkpoint(name, line.offset, line.number)
            self._unsaved.clear()
            self._last_checkpoint = now
