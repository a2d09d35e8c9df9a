"""`cio-plugin`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from . import conformance
from .replay import ScenarioError, parse_scenarios, replay

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CONFORMANCE = PROJECT_ROOT / "fixtures" / "conformance"


def _engine_factory(args: argparse.Namespace) -> Any:
    from .runtime.engine import load_python_plugin

    def make() -> Any:
        return load_python_plugin(args.plugin, compat=args.compat)

    make()  # fail early, before any scenario runs, if the plugin cannot load
    return make


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
    try:
        scenarios = parse_scenarios(_read(scenarios_path), scenarios_path)
    except (OSError, ScenarioError) as error:
        print(f"cio-plugin: {error}", file=sys.stderr)
        return 2
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
    print(f"Replayed {len(scenarios)} scenarios ({sum(len(s.events) for s in scenarios)} events) "
          f"on the {args.compat} port against {expected_path}")
    print(conformance.format_report(reports))
    return 0 if conformance.summarize(reports).parity else 1


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
    replay_parser.add_argument("--compat", choices=["original", "safe"], default="original",
                               help="port behaviour (default: original, for parity)")
    replay_parser.add_argument("-o", "--output", metavar="TRACES.json", help="write traces here instead of stdout")
    replay_parser.add_argument("--expect", metavar="EXPECTED.json",
                               help="compare with these traces and print a parity summary")
    replay_parser.add_argument("--plugin", default="plugin.customerio",
                               help="Python plugin: module name or .py path (default: the Customer.io port)")
    replay_parser.add_argument("--tz", default="UTC", help="local time zone for date parsing (default: UTC)")
    replay_parser.set_defaults(func=cmd_replay)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
