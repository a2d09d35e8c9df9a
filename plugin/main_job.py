"""The main job's commands: `run`, `inspect`, `dead-letters`, `emulator`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import tomllib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .emulator import SQLiteStore, TrackApi
from .emulator.server import Emulator, Faults, RouteToEmulator
from .run import Runner, Summary
from .runtime.console import LogEntry, LogLevel
from .runtime.engine import load_python_plugin
from .runtime.errors import ConfigError
from .runtime.manifest import Manifest, load_manifest, validate_config
from .runtime.retry import retry_policy
from .state import DEFAULT_STATE, State
from .transport import PoolShards, RateLimited

PROJECT_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
BUNDLED_EVENTS = PROJECT_ROOT / "fixtures" / "events.jsonl"
# Against the emulator, credentials may be left out: it accepts these.
EMULATOR_CREDENTIALS = {"customerioSiteId": "local-site-id", "customerioToken": "local-api-key"}
ENV_ALIASES = {"customerioToken": ["CUSTOMERIO_API_KEY"]}
# Customer.io's Track API allows about 100 requests per second per workspace.
DEFAULT_RATE = 100.0


def env_names(key: str) -> list[str]:
    """CUSTOMERIO_<KEY IN UPPER SNAKE CASE>, plus the usual names for the API key."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()
    name = snake if snake.startswith("CUSTOMERIO_") else f"CUSTOMERIO_{snake}"
    return [name, *ENV_ALIASES.get(key, [])]


def read_config_file(path: str) -> dict[str, Any]:
    """A config file: JSON, or TOML by extension; an object of plugin config keys."""
    kind = "TOML" if path.endswith(".toml") else "JSON"
    try:
        text = Path(path).read_text(encoding="utf-8")
        config = tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
    except ValueError as error:
        raise ConfigError(f"config {path} is not valid {kind}: {error}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"config {path} must be an object of plugin config keys")
    return config


def gather_config(manifest: Manifest, path: str | None, settings: list[str], target: str) -> dict[str, Any]:
    """File, then environment, then --set flags; checked against plugin.json (ConfigError)."""
    config: dict[str, Any] = read_config_file(path) if path else {}
    for spec in manifest.config:
        for name in env_names(spec.key):
            if os.environ.get(name):
                config[spec.key] = os.environ[name]
                break
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep:
            raise ConfigError(f"--set takes KEY=VALUE, got {setting!r}")
        config[key] = value
    if target == "emulator":
        for key, value in EMULATOR_CREDENTIALS.items():
            config.setdefault(key, value)
    return validate_config(manifest, config)


def _state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state).parent


def _emulator_db(args: argparse.Namespace) -> Path:
    return Path(args.emulator_db) if getattr(args, "emulator_db", None) else _state_dir(args) / "emulator.sqlite"


def _print_log(entry: LogEntry) -> None:
    print(f"{entry.timestamp} {entry.type.name:<5} {entry.source.value}: {entry.message}", file=sys.stderr)


def _progress_line(runner: Runner) -> str:
    c = runner.counters
    return (f"\rread {c.read}  sent {c.delivered - c.filtered}  filtered {c.filtered}  failed {c.failed}  "
            f"retried {c.retries}  bad lines {c.bad_lines}  in flight {c.in_flight}  {c.rate:.0f} events/s\x1b[K")


def _format_summary(summary: Summary, target: str) -> str:
    lines = [
        ("Interrupted: rerun the same command to continue. " if summary.interrupted else "")
        + f"{summary.read} events read, {summary.delivered} delivered ({summary.delivered - summary.filtered} "
        f"sent, {summary.filtered} filtered by the plugin), {summary.failed} failed "
        f"(dead letters), {summary.bad_lines} bad lines, {summary.retries} retries, "
        f"{summary.seconds:.2f} s, {summary.events_per_second:.0f} events/s.",
        f"Target: {target}. State: {summary.state} ({summary.dead_letters} dead letters in all).",
    ]
    if summary.dead_letters:
        lines.append("See them with: cio-plugin dead-letters list")
    return "\n".join(lines)


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on uvloop's event loop where it is installed (see pyproject.toml)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def cmd_run(args: argparse.Namespace, engine_factory: Any) -> int:
    manifest = load_manifest(PROJECT_ROOT / "plugin.json")
    config = gather_config(manifest, args.config, args.set or [], args.target)
    inputs = args.inputs or [str(BUNDLED_EVENTS)]
    for path in inputs:
        if path != "-" and not Path(path).is_file():
            raise ConfigError(f"input not found: {path}")
    faults = _faults(args)
    summary = run_loop(_run(args, engine_factory, config, inputs, faults))
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        print(_format_summary(summary, "the embedded emulator" if args.target == "emulator" else "Customer.io"))
    return 130 if summary.interrupted else 0


async def _run(args: argparse.Namespace, engine_factory: Any, config: dict[str, Any], inputs: list[str],
               faults: Faults) -> Summary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    state = State(args.state)
    emulator = None
    made = engine_factory()
    engine = await made if asyncio.iscoroutine(made) else made
    try:
        # A connection per event in flight at most, kept alive between events.
        if args.emulator_url:
            transport: httpx.AsyncBaseTransport = RouteToEmulator(args.emulator_url, args.concurrency)
        elif args.target == "emulator":
            api = TrackApi(SQLiteStore(_emulator_db(args)), config["customerioSiteId"], config["customerioToken"])
            emulator = Emulator(api, faults)
            await emulator.start()
            transport = RouteToEmulator(emulator.url, args.concurrency)
        else:
            transport = RateLimited(PoolShards(args.concurrency), args.rate)
        async with transport:
            retry = retry_policy(args.retry, max_attempts=args.max_attempts, cap=args.retry_cap)
            runner = Runner(engine, state, transport, config, retry=retry, concurrency=args.concurrency,
                            log=_print_log, log_level=LogLevel[args.log_level.upper()])
            ticker = asyncio.ensure_future(_show_progress(runner)) if sys.stderr.isatty() and not args.json else None
            try:
                return await runner.run(inputs, stop)
            finally:
                if ticker is not None:
                    ticker.cancel()
                    print(_progress_line(runner), file=sys.stderr)
    finally:
        await engine.close()
        if emulator is not None:
            await emulator.stop()
        state.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _show_progress(runner: Runner) -> None:
    while True:
        print(_progress_line(runner), end="", file=sys.stderr, flush=True)
        await asyncio.sleep(0.5)


def _faults(args: argparse.Namespace) -> Faults:
    try:
        return Faults(args.error_rate, args.throttle_rate, args.retry_after, args.drop_rate, args.latency_ms)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def cmd_inspect(args: argparse.Namespace) -> int:
    path = _emulator_db(args)
    if not path.is_file():
        raise ConfigError(f"no emulator data at {path}: run `cio-plugin run` first (or pass --emulator-db)")
    store = SQLiteStore(path)
    people, events = store.people(), store.events()
    store.close()
    if args.json:
        print(json.dumps({"people": [{"id": pid, "attributes": attrs} for pid, attrs in people], "events": events},
                         ensure_ascii=False))
        return 0
    counts: dict[str, int] = {}
    for event in events:
        counts[event["customer_id"]] = counts.get(event["customer_id"], 0) + 1
    print(f"{len(people)} people, {len(events)} events in {path}")
    print(f"{'id':<32} {'email':<32} {'attributes':>10} {'events':>7}")
    for pid, attrs in people[: args.limit]:
        print(f"{pid[:32]:<32} {str(attrs.get('email', ''))[:32]:<32} {len(attrs):>10} {counts.get(pid, 0):>7}")
    if len(people) > args.limit:
        print(f"… {len(people) - args.limit} more (--limit, or --json for all)")
    return 0


def cmd_dead_letters(args: argparse.Namespace, engine_factory: Any) -> int:
    state = State(args.state)
    try:
        letters = state.dead_letters()
        if args.action == "list":
            if args.json:
                print(json.dumps([letter.__dict__ for letter in letters], ensure_ascii=False))
            else:
                print(f"{len(letters)} dead letters in {state.path}")
                for letter in letters:
                    print(f"#{letter.id} {letter.source}:{letter.line} {letter.event.get('event')!r} "
                          f"for {letter.event.get('distinct_id')!r} after {letter.attempts} attempts: {letter.error}")
            return 0
    finally:
        state.close()
    # retry: the letters' events go through a run of their own, then leave the store if delivered.
    retry_file = Path(args.state).parent / "dead-letters-retry.jsonl"
    retry_file.write_text("".join(json.dumps(letter.event) + "\n" for letter in letters), encoding="utf-8")
    state = State(args.state)
    for letter in letters:
        state.remove_dead_letter(letter.id)
    state.reset(str(retry_file))  # the file is rewritten on every retry
    state.close()
    args.inputs = [str(retry_file)]
    return cmd_run(args, engine_factory)


def cmd_emulator(args: argparse.Namespace) -> int:
    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        api = TrackApi(SQLiteStore(_emulator_db(args)), args.site_id, args.api_key)
        faults = _faults(args)
        async with Emulator(api, faults, port=args.port) as emulator:
            print(f"Customer.io emulator on {emulator.url} (data: {_emulator_db(args)}); Ctrl-C stops it.",
                  flush=True)
            await stop.wait()

    run_loop(serve())
    return 0


def add_parsers(commands: Any, add_engine_options: Any) -> None:
    def state_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--state", default=str(DEFAULT_STATE),
                            help="SQLite state file: plugin storage, checkpoint, dead letters "
                            f"(default: {DEFAULT_STATE})")

    def fault_options(parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("emulator faults")
        group.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 500")
        group.add_argument("--throttle-rate", type=float, default=0.0, help="share answered 429 with Retry-After")
        group.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds on those 429s")
        group.add_argument("--drop-rate", type=float, default=0.0, help="share of connections dropped")
        group.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request")
        group.add_argument("--emulator-db", help="emulator data file (default: next to --state)")

    def run_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", metavar="FILE", help="plugin config (JSON, or TOML by extension)")
        parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="one config value (repeatable)")
        parser.add_argument("--target", choices=["emulator", "customerio"], default="emulator",
                            help="where requests go (default: the embedded emulator, on loopback)")
        parser.add_argument("--emulator-url", metavar="URL",
                            help="use an emulator already running (cio-plugin emulator) instead of starting one")
        parser.add_argument("--rate", type=float, default=DEFAULT_RATE,
                            help=f"requests per second to the real Customer.io (default: {DEFAULT_RATE:g})")
        parser.add_argument("--concurrency", type=int, default=32, help="events in flight (default: 32)")
        parser.add_argument("--retry", choices=["reliable", "posthog-2023", "posthog-2022"], default="reliable")
        parser.add_argument("--max-attempts", type=int, default=None, help="attempts per event (reliable policy)")
        parser.add_argument("--retry-cap", type=float, default=None, help="longest wait between attempts, s")
        parser.add_argument("--compat", choices=["original", "safe"], default="safe",
                            help="Customer.io port behaviour (default: safe)")
        parser.add_argument("--engine", choices=["python", "js"], default="python")
        parser.add_argument("--log-level", choices=["debug", "log", "info", "warn", "error"], default="warn",
                            help="plugin log entries shown on stderr (default: warn)")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        state_options(parser)
        fault_options(parser)
        add_engine_options(parser)

    run = commands.add_parser(
        "run", help="stream events into Customer.io (default: the embedded emulator)",
        description="Read events (JSONL files, '-' for stdin; default: the bundled fixtures/events.jsonl), run "
        "them through the plugin and deliver them: at least once, per-person order kept, retries with backoff, "
        "dead letters for what fails. Rerunning after a crash or Ctrl-C resumes. Config: --config, then "
        "CUSTOMERIO_* environment variables (CUSTOMERIO_SITE_ID, CUSTOMERIO_API_KEY, CUSTOMERIO_HOST, ...), "
        "then --set. Exit status: 0, 2 on bad config or input, 130 when interrupted.")
    run.add_argument("inputs", nargs="*", metavar="EVENTS.jsonl")
    run_options(run)
    run.set_defaults(command_kind="run")

    inspect = commands.add_parser("inspect", help="people and events that reached the emulator")
    inspect.add_argument("--json", action="store_true")
    inspect.add_argument("--limit", type=int, default=20, help="people shown (default: 20)")
    state_options(inspect)
    inspect.add_argument("--emulator-db", help="emulator data file (default: next to --state)")
    inspect.set_defaults(func=cmd_inspect)

    letters = commands.add_parser("dead-letters", help="list the events that failed for good, or retry them")
    letters.add_argument("action", choices=["list", "retry"])
    letters.set_defaults(inputs=[], command_kind="dead-letters")
    run_options(letters)

    emulator = commands.add_parser("emulator", help="run the Customer.io emulator on its own, with faults")
    emulator.add_argument("--port", type=int, default=8080)
    emulator.add_argument("--site-id", default=EMULATOR_CREDENTIALS["customerioSiteId"])
    emulator.add_argument("--api-key", default=EMULATOR_CREDENTIALS["customerioToken"])
    state_options(emulator)
    fault_options(emulator)
    emulator.set_defaults(func=cmd_emulator)


def engine_for(args: argparse.Namespace, js_factory: Any) -> Any:
    if args.engine == "js":
        return js_factory(args)
    engine = load_python_plugin(args.plugin, compat=args.compat)
    return lambda: engine
