"""V8 itself (through mini-racer), as the reference for the JavaScript-semantics tests.

Each batch runs in a child process so that the process time zone (TZ) V8 reads at start
can differ per batch without touching the test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

_CHILD = r"""
import json, sys
from py_mini_racer import MiniRacer
request = json.load(sys.stdin)
racer = MiniRacer()
racer.eval("var inputs = " + json.dumps(request["inputs"]) + ";")
sys.stdout.write(racer.eval(request["script"]))
"""


# A batch takes seconds. Once, on a loaded machine, a child never answered (V8 never got going);
# such a child is killed and the batch run again in a fresh one, once.
CHILD_TIMEOUT_SECONDS = 120


def run(script: str, inputs: Any, tz: str = "UTC") -> Any:
    """Evaluate `script` (which sees `inputs` and must return a JSON string) in V8."""
    request = json.dumps({"script": script, "inputs": inputs})
    try:
        return _in_child(request, tz)
    except subprocess.TimeoutExpired:
        return _in_child(request, tz)


def _in_child(request: str, tz: str) -> Any:
    done = subprocess.run([sys.executable, "-c", _CHILD], input=request, capture_output=True, text=True,
                          env={**os.environ, "TZ": tz}, check=True, timeout=CHILD_TIMEOUT_SECONDS)
    return json.loads(done.stdout)
