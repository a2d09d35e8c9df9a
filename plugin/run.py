"""The main job: stream events through a plugin host into Customer.io (or the emulator).

At-least-once: an input line is checkpointed only when every event before it has ended
(delivered, filtered, or dead-lettered), so a rerun after a crash resumes at the first line
that may not have ended; only what was in flight can be sent twice. Events of one person
run one at a time in input order (the plugin's per-person status depends on it); different
people run in parallel, up to `concurrency` events in flight.
"""

from __future__ import annotations

import asyncio
import random
import resource
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

STOP_GRACE_SECONDS = 5.0
LATENCY_SAMPLE = 10_000
# Lines read between two turns of the event loop while slots are free. One turn per line made the
# reader the bottleneck (a poll per line, ~6 events in flight); 32 lets the slots fill: +25% events/s.
READ_BATCH = 32


@dataclass
class Counters:
    read: int = 0
    delivered: int = 0  # ended well: sent, or filtered by the plugin
    filtered: int = 0  # ended well without a single request
    failed: int = 0
    bad_lines: int = 0
    retries: int = 0
    in_flight: int = 0
    started: float = field(default_factory=time.monotonic)
    # Seconds per event (all attempts): a uniform sample of at most LATENCY_SAMPLE of them, so
    # memory stays flat however long the input is.
    latencies: list[float] = field(default_factory=list)
    timed: int = 0
    _random: random.Random = field(default_factory=lambda: random.Random(0))

    def record_latency(self, seconds: float) -> None:
        self.timed += 1
        if len(self.latencies) < LATENCY_SAMPLE:
            self.latencies.append(seconds)
        else:  # reservoir sampling
            slot = self._random.randrange(self.timed)
            if slot < LATENCY_SAMPLE:
                self.latencies[slot] = seconds

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
    filtered: int
    failed: int
    bad_lines: int
    retries: int
    seconds: float
    events_per_second: float
    dead_letters: int
    state: str
    interrupted: bool
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    peak_rss_mb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Progress:
    """One input file's lines in order. A line is done when it is sealed (no more events of
    it will come) and all its events have ended. Each done line is recorded at once: the
    checkpoint when it extends the done prefix, else in the set of lines done past it, so a
    restart re-sends only what was in flight."""

    def __init__(self, source: str, state: State) -> None:
        self.source = source
        self.state = state
        self.lines: deque[_Entry] = deque()

    def open(self, line: Line) -> _Entry:
        if self.lines:
            self.seal(self.lines[-1])
        entry = _Entry(line)
        self.lines.append(entry)
        return entry

    def seal(self, entry: _Entry) -> None:
        if not entry.sealed:
            entry.sealed = True
            self.finished(entry)

    def seal_all(self) -> None:
        for entry in list(self.lines):
            self.seal(entry)

    def finished(self, entry: _Entry) -> None:
        if not entry.sealed or entry.running or entry.done or entry.abandoned:
            return
        entry.done = True
        last = None
        while self.lines and self.lines[0].done:
            last = self.lines.popleft().line
        if last is not None:
            self.state.save_checkpoint(self.source, last.offset, last.number)
        elif self.lines and entry is not self.lines[0]:
            self.state.mark_done(self.source, entry.line.number)


@dataclass
class _Entry:
    line: Line
    running: int = 0
    sealed: bool = False
    done: bool = False
    abandoned: bool = False  # an event of it never started (stopped): never done, so never checkpointed


class Runner:
    def __init__(
        self,
        engine: Engine,
        state: State,
        transport: httpx.AsyncBaseTransport,
        config: dict[str, Any],
        *,
        retry: RetryPolicy | str = "reliable",
        concurrency: int = 32,
        log: Callable[[LogEntry], None] | None = None,
        log_level: LogLevel = LogLevel.WARN,
    ) -> None:
        clock = SystemClock()
        # Entries below log_level are dropped before they are formatted, with or without a sink.
        console = Console(clock.now_ms, log or (lambda _: None), log_level)
        self.meta = Meta(config=config, storage=Storage(state.storage), cache=Cache(clock=clock), console=console,
                         fetch=Fetch(transport), clock=clock)
        self.host = PluginHost(engine, self.meta, retry=retry)
        self.state = state
        self.concurrency = concurrency
        self.counters = Counters()
        self._progress: dict[str, _Progress] = {}
        self._skip: dict[str, set[int]] = {}
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, inputs: list[str], stop: asyncio.Event | None = None) -> Summary:
        stop = stop or asyncio.Event()
        slots = asyncio.Semaphore(self.concurrency)
        resume = self.state.checkpoints()
        current: dict[str, _Entry] = {}
        for item in read_events(inputs, resume):
            if stop.is_set():
                break
            line = item.line
            if line.source not in self._skip:  # read once per input, not once per line
                self._skip[line.source] = self.state.done_lines(line.source)
            if line.number in self._skip[line.source]:
                continue  # done before a restart
            progress = self._progress.setdefault(line.source, _Progress(line.source, self.state))
            entry = current.get(line.source)
            if entry is None or entry.line.number != line.number:
                entry = current[line.source] = progress.open(line)
            if isinstance(item, BadLine):
                self.counters.bad_lines += 1
                self.meta.console.write(LogSource.SYSTEM, LogLevel.WARN, f"skipped {item}")
                continue
            self.counters.read += 1
            entry.running += 1
            await slots.acquire()
            if stop.is_set():  # stopped while waiting for a slot: this line is left for the rerun
                entry.running -= 1
                entry.abandoned = True
                self.counters.read -= 1
                slots.release()
                break
            self._start(item, entry, progress, slots)
            if self.counters.read % READ_BATCH == 0:
                await asyncio.sleep(0)  # let started events run and finished ones report
        for progress in self._progress.values():
            progress.seal_all()
        interrupted = stop.is_set()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_SECONDS if interrupted else None)
            for task in pending:  # still retrying: not checkpointed, so a rerun delivers them
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.host.close()
        c = self.counters
        ordered = sorted(c.latencies) or [0.0]
        return Summary(c.read, c.delivered, c.filtered, c.failed, c.bad_lines, c.retries, round(c.seconds, 3),
                       round(c.rate, 1), len(self.state.dead_letters()), str(self.state.path), interrupted,
                       round(ordered[len(ordered) // 2] * 1000, 2), round(ordered[int(len(ordered) * 0.99)] * 1000, 2),
                       round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))

    def _start(self, item: Event, entry: _Entry, progress: _Progress, slots: asyncio.Semaphore) -> None:
        person = str(item.payload.get("distinct_id"))
        previous = self._tails.get(person)

        async def deliver() -> None:
            try:
                if previous is not None:
                    await asyncio.gather(previous, return_exceptions=True)
                self.counters.in_flight += 1
                began = time.monotonic()
                outcome = await self.host.on_event(item.payload)
                self.counters.record_latency(time.monotonic() - began)
                self.counters.retries += max(outcome.attempts - 1, 0)
                if outcome.ok:
                    self.counters.delivered += 1
                    if not outcome.calls:
                        self.counters.filtered += 1
                else:
                    self.counters.failed += 1
                    error = outcome.error
                    reason = f"{error_name(error)}: {error_message(error)}" if error else outcome.status
                    if outcome.status == "skipped":
                        reason = f"the plugin is disabled (setupPlugin failed): {reason}"
                    self.state.add_dead_letter(item.line.source, item.line.number, item.payload, reason,
                                               outcome.attempts)
                entry.running -= 1
                progress.finished(entry)
            finally:
                self.counters.in_flight = max(self.counters.in_flight - 1, 0)
                slots.release()
                if self._tails.get(person) is task:
                    del self._tails[person]

        task = asyncio.ensure_future(deliver())
        self._tails[person] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
