"""`cio-plugin`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import conformance, main_job
from .compare import compare_runs, format_comparison
from .replay import EngineFactory, Scenario, ScenarioError, parse_scenarios, replay
from .runtime.errors import HostError
from .runtime.manifest import Manifest, load_manifest, parse_manifest, validate_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CONFORMANCE = PROJECT_ROOT / "fixtures" / "conformance"
JS_PLUGIN_ENV = "CIO_JS_PLUGIN"
DEFAULT_PLUGIN = "plugin.customerio"


class UsageError(Exception):
    """Bad input on the command line: printed, exit status 2."""


def _python_factory(args: argparse.Namespace) -> EngineFactory:
    from .runtime.engine import load_python_plugin

    # --compat belongs to the Customer.io port (original mode unless asked otherwise);
    # another Python plugin gets it only when it is given.
    if args.compat is not None:
        options = {"compat": args.compat}
    else:
        options = {"compat": "original"} if args.plugin == DEFAULT_PLUGIN else {}

    def make() -> Any:
        return load_python_plugin(args.plugin, **options)

    make()  # fail early, before any scenario runs, if the plugin cannot load
    return make


def _js_source(args: argparse.Namespace) -> Any:
    from .jsengine import load_source

    path = args.js_plugin or os.environ.get(JS_PLUGIN_ENV)
    if not path:
        raise UsageError(f"the JavaScript engine needs the plugin's source: --js-plugin PATH (or ${JS_PLUGIN_ENV})")
    return load_source(path)  # read once; each scenario gets a fresh isolate


def _js_factory(source: Any) -> EngineFactory:
    from .jsengine import JavaScriptEngine

    return lambda: JavaScriptEngine.load(source)


def _engine_factory(args: argparse.Namespace) -> EngineFactory:
    return _js_factory(_js_source(args)) if args.engine == "js" else _python_factory(args)


def _pin_time_zone(zone: str) -> None:
    # V8 reads TZ from the process, so the JavaScript engine needs it set before its
    # first isolate; the Python side pins the same zone per replay.
    os.environ["TZ"] = zone
    time.tzset()


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    return Path(path).read_text(encoding="utf-8")


def cmd_replay(args: argparse.Namespace) -> int:
    scenarios_path = args.scenarios
    expected_path = args.expect
    if scenarios_path is None:
        scenarios_path = str(BUNDLED_CONFORMANCE / "scenarios.json")
        expected_path = expected_path or str(BUNDLED_CONFORMANCE / "expected.json")
        if not Path(scenarios_path).is_file():
            print(f"cio-plugin: no scenario file given and the bundled set is missing ({scenarios_path})",
                  file=sys.stderr)
            return 2
    scenarios = parse_scenarios(_read(scenarios_path), scenarios_path)
    _pin_time_zone(args.tz)
    traces = asyncio.run(replay(scenarios, _engine_factory(args), time_zone=args.tz))
    text = json.dumps(traces, ensure_ascii=False, indent=1)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    elif expected_path is None:
        sys.stdout.write(text + "\n")
    if expected_path is None:
        return 0
    try:
        expected = json.loads(_read(expected_path))
    except (OSError, ValueError) as error:
        print(f"cio-plugin: cannot read expected traces {expected_path}: {error}", file=sys.stderr)
        return 2
    reports = conformance.compare_traces(expected, traces)
    subject = f"the JavaScript plugin {args.js_plugin or os.environ.get(JS_PLUGIN_ENV)}" if args.engine == "js" \
        else f"the {args.compat or 'original'} port" if args.plugin == DEFAULT_PLUGIN else args.plugin
    print(f"Replayed {len(scenarios)} scenarios ({sum(len(s.events) for s in scenarios)} events) "
          f"on {subject} against {expected_path}")
    print(conformance.format_report(reports))
    return 0 if conformance.summarize(reports).parity else 1


def _stream_scenario(path: str, config: dict[str, Any]) -> Scenario:
    """An event stream (JSONL of onEvent payloads) as one scenario; bad lines are skipped, loudly."""
    events = []
    try:
        lines = _read(path).splitlines()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as error:
            print(f"cio-plugin: {path}:{number}: skipped, not valid JSON ({error})", file=sys.stderr)
            continue
        if not isinstance(event, dict):
            print(f"cio-plugin: {path}:{number}: skipped, an event must be a JSON object", file=sys.stderr)
            continue
        events.append({"event": event})
    return Scenario(Path(path).name, time.time() * 1000, config, {}, [], events)


def _secrets(scenarios: list[Scenario], secret_keys: set[str]) -> list[str]:
    """The secret config values and the Basic-auth forms built from them."""
    found: set[str] = set()
    for scenario in scenarios:
        values = [str(scenario.config[k]) for k in secret_keys if scenario.config.get(k) not in (None, "")]
        found.update(values)
        for user in values:
            for password in values:
                found.add(base64.b64encode(f"{user}:{password}".encode()).decode("ascii"))
    return sorted(found)


def _manifest_for(source: Any) -> Manifest:
    """The JavaScript plugin's plugin.json when it has one, else this project's."""
    if source.manifest:
        return parse_manifest(source.manifest, source.origin)
    return load_manifest(PROJECT_ROOT / "plugin.json")


def cmd_compare(args: argparse.Namespace) -> int:
    from .safe_mode import RECOGNIZERS

    source = _js_source(args)
    manifest = _manifest_for(source)
    is_stream = args.input.endswith(".jsonl") or args.input.endswith(".ndjson")
    if is_stream:
        if args.config:
            given = main_job.read_config_file(args.config)
        else:
            given = {key: value for key, value in main_job.EMULATOR_CREDENTIALS.items() if manifest.field(key)}
        scenarios = [_stream_scenario(args.input, validate_config(manifest, given))]
    else:
        if args.config:
            raise UsageError("--config applies to event streams (.jsonl); scenarios carry their own config")
        scenarios = parse_scenarios(_read(args.input), args.input)
    _pin_time_zone(args.tz)
    original_factory = _js_factory(source)
    port_factory = _python_factory(args)
    secret_keys = set(manifest.secret_keys) | load_manifest(PROJECT_ROOT / "plugin.json").secret_keys

    async def both() -> tuple[list[Any], list[Any]]:
        original = await replay(scenarios, original_factory, time_zone=args.tz)
        port = await replay(scenarios, port_factory, time_zone=args.tz)
        return original, port

    original, port = asyncio.run(both())
    comparison = compare_runs(original, port, RECOGNIZERS if args.compat == "safe" else [])
    comparison.redact(_secrets(scenarios, secret_keys))
    if args.json:
        Path(args.json).write_text(json.dumps(comparison.to_dict(), ensure_ascii=False, indent=1) + "\n",
                                   encoding="utf-8")
    port_label = f"the {args.compat or 'original'} port" if args.plugin == DEFAULT_PLUGIN else args.plugin
    print(format_comparison(comparison, port_label=port_label,
                            original_label=f"the JavaScript plugin {source.origin}"))
    return 1 if comparison.unexpected else 0


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--js-plugin", metavar="PATH",
                        help=f"JavaScript/TypeScript plugin: a directory with plugin.json, a .zip archive or a "
                        f".ts/.js file (default: ${JS_PLUGIN_ENV})")
    parser.add_argument("--plugin", default=DEFAULT_PLUGIN,
                        help="Python plugin: module name or .py path (default: the Customer.io port)")
    parser.add_argument("--tz", default="UTC", help="local time zone for date parsing (default: UTC)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cio-plugin",
        description="Run and check the PostHog Customer.io plugin from Python.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    replay_parser = commands.add_parser(
        "replay",
        help="replay conformance scenarios and print their traces",
        description="Replay scenarios (frozen clock, scripted HTTP answers, no network) and print one trace "
        "per scenario. Without SCENARIOS, replays the bundled conformance set and checks it against the "
        "original plugin's recorded traces. Exit status: 0 (1 if --expect finds a difference, 2 on bad input).",
    )
    replay_parser.add_argument("scenarios", nargs="?", metavar="SCENARIOS.json", help="scenario file ('-' for stdin)")
    replay_parser.add_argument("--compat", choices=["original", "safe"],
                               help="Customer.io port behaviour (default: original, for parity)")
    replay_parser.add_argument("-o", "--output", metavar="TRACES.json", help="write traces here instead of stdout")
    replay_parser.add_argument("--expect", metavar="EXPECTED.json",
                               help="compare with these traces and print a parity summary")
    replay_parser.add_argument("--engine", choices=["python", "js"], default="python",
                               help="run the Python plugin (default) or a JavaScript one (--js-plugin)")
    _add_engine_options(replay_parser)
    replay_parser.set_defaults(func=cmd_replay)

    compare_parser = commands.add_parser(
        "compare",
        help="run the port and the original JavaScript plugin side by side and show every difference",
        description="Run the Python port and a JavaScript plugin on the same scenarios (or the same event "
        "stream, with the same fake Customer.io answers and fresh storage) and report every difference in "
        "outcome, requests and storage. In safe mode the port's intended deviations are listed apart. "
        "Exit status: 0 with no unexpected difference, 1 otherwise, 2 on bad input.",
    )
    compare_parser.add_argument("input", metavar="SCENARIOS.json|EVENTS.jsonl",
                                help="scenario file, or a JSONL file of onEvent payloads")
    compare_parser.add_argument("--config", metavar="FILE",
                                help="plugin config for an event stream (JSON, or TOML by extension); "
                                "checked against plugin.json (default: local placeholder credentials)")
    compare_parser.add_argument("--compat", choices=["original", "safe"],
                                help="Customer.io port behaviour (default: original); safe lists its intended "
                                "deviations apart")
    compare_parser.add_argument("--json", metavar="REPORT.json", help="also write the full report as JSON")
    _add_engine_options(compare_parser)
    compare_parser.set_defaults(func=cmd_compare)
    main_job.add_parsers(commands, _add_engine_options)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    kind = getattr(args, "command_kind", None)
    if not getattr(args, "func", None) and kind is None:
        parser.print_help()
        return 0
    try:
        if kind is not None:
            factory = main_job.engine_for(args, lambda a: _js_factory(_js_source(a)))
            run = main_job.cmd_run if kind == "run" else main_job.cmd_dead_letters
            return run(args, factory)
        return int(args.func(args))
    except BrokenPipeError:  # the reader went away (`| head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UsageError, ScenarioError, HostError, OSError) as error:
        print(f"cio-plugin: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
