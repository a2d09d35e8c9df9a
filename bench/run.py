"""Throughput of `cio-plugin run` against the emulator in a separate process. Prints figures.

    python bench/run.py [--events 100000] [--people 10000] [--latency-ms 0 50] [--js-plugin PATH]

Generates synthetic events (identifies with $set, pageviews and custom events with realistic
properties), starts `cio-plugin emulator` with the given added latency, runs `cio-plugin run`
on them with a fresh state, and prints events/s, p50/p99 per-event latency and the peak RSS
of the run process. Targets (issue 4, 2 cores): >= 1,000 events/s with 50 ms latency, >= 800
with none, peak RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(path: Path, events: int, people: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with path.open("w") as out:
        for i in range(events):
            person = f"user-{rng.randrange(people):05d}"
            properties = {"$current_url": f"https://app.example.com/{rng.choice(['', 'pricing', 'docs'])}",
                          "$browser": rng.choice(["Chrome", "Firefox", "Safari"]), "$os": "Mac OS X",
                          "$lib": "web", "$lib_version": "1.130.0", "plan": rng.choice(["free", "pro"])}
            event = {"event": rng.choice(["$pageview", "clicked", "signed up"]), "distinct_id": person,
                     "timestamp": "2024-05-01T10:00:00.000Z", "properties": properties}
            if i % 5 == 0:
                event["event"] = "$identify"
                event["$set"] = {"email": f"{person}@example.com", "name": f"User {person}", "company": "Acme"}
            out.write(json.dumps(event) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process (Linux /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(events: Path, latency_ms: float, engine_args: list[str], concurrency: int) -> dict:
    with tempfile.TemporaryDirectory() as work:
        port = free_port()
        emulator = subprocess.Popen(
            [sys.executable, "-m", "plugin", "emulator", "--port", str(port), "--latency-ms", str(latency_ms),
             "--state", f"{work}/emulator-state.sqlite"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            emulator.stdout.readline()  # "Customer.io emulator on ..." once it listens
            started = time.monotonic()
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            run = subprocess.run(
                [sys.executable, "-m", "plugin", "run", str(events), "--emulator-url", f"http://127.0.0.1:{port}",
                 "--state", f"{work}/state.sqlite", "--concurrency", str(concurrency), "--json", *engine_args],
                cwd=ROOT, capture_output=True, text=True, check=True)
            wall = time.monotonic() - started
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run process (the emulator still runs)
            emulator_cpu = process_cpu_seconds(emulator.pid)
        finally:
            emulator.terminate()
            emulator.wait()
    summary = json.loads(run.stdout)
    summary["wall_seconds"] = round(wall, 2)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    summary["cpu_ms_per_event"] = round(cpu * 1000 / max(summary["read"], 1), 3)
    summary["emulator_cpu_ms_per_event"] = round(emulator_cpu * 1000 / max(summary["read"], 1), 3)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0, 50])
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--js-plugin")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        events = Path(work) / "events.jsonl"
        generate(events, args.events, args.people)
        engines = [("port", [])] + ([("js", ["--engine", "js", "--js-plugin", args.js_plugin])] if args.js_plugin
                                    else [])
        print(f"{args.events} events over {args.people} people, concurrency {args.concurrency}")
        for name, engine_args in engines:
            for latency in args.latency_ms:
                s = measure(events, latency, engine_args, args.concurrency)
                peak = s["peak_rss_mb"]
                print(f"  {name:<4} latency {latency:>4g} ms: {s['events_per_second']:>7.0f} events/s   "
                      f"p50 {s['p50_ms']:>7.1f} ms   p99 {s['p99_ms']:>7.1f} ms   peak RSS {peak:>5.0f} MB   "
                      f"CPU/event run {s['cpu_ms_per_event']:.2f} ms, "
                      f"emulator {s['emulator_cpu_ms_per_event']:.2f} ms   "
                      f"({s['delivered']} delivered, {s['failed']} failed, {s['wall_seconds']} s)")


if __name__ == "__main__":
    main()
