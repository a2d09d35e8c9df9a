"""TypeScript (and modern JavaScript) to a CommonJS body, with TypeScript's own compiler.

The compiler is the `typescriptServices.js` that the pinned `dukpy` wheel ships; we read
the file without importing dukpy. It runs in a throwaway V8 isolate, and its output is
cached on disk by a digest of the source, the file name, the compiler and our transform,
so only the first load of a given source pays for the compiler.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
from pathlib import Path

from .errors import PluginLoadError

COMPILER_PACKAGE = "dukpy"
COMPILER_FILE = "dukpy/jsmodules/typescriptServices.js"
TRANSFORM = Path(__file__).with_name("transpile.js")

_memory: dict[str, str] = {}


def cache_dir() -> Path:
    """Where transpiled plugins are kept: $CIO_PLUGIN_CACHE, else the user cache dir."""
    if os.environ.get("CIO_PLUGIN_CACHE"):
        return Path(os.environ["CIO_PLUGIN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cio-plugin" / "transpiled"


def _distribution() -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(COMPILER_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise PluginLoadError(
            "the TypeScript compiler is missing: install the JavaScript extra (pip install 'cio-plugin[js]')"
        ) from None


def compiler_path() -> Path:
    distribution = _distribution()
    path = Path(str(distribution.locate_file(COMPILER_FILE)))
    if not path.is_file():
        raise PluginLoadError(f"the TypeScript compiler is missing from {COMPILER_PACKAGE} "
                              f"{distribution.version}: {path}")
    return path


def compiler_id() -> str:
    return f"{COMPILER_PACKAGE}-{_distribution().version}"


def cache_key(source: str, filename: str) -> str:
    digest = hashlib.sha256()
    for part in (compiler_id(), TRANSFORM.read_text(encoding="utf-8"), filename, source):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def transpile(source: str, filename: str) -> str:
    """CommonJS code for `source`, from memory, the disk cache, or the compiler."""
    key = cache_key(source, filename)
    if key in _memory:
        return _memory[key]
    cached = cache_dir() / f"{key}.js"
    try:
        code = cached.read_text(encoding="utf-8")
    except OSError:
        code = _compile(source, filename)
        _store(cached, code)
    _memory[key] = code
    return code


def _store(path: Path, code: str) -> None:
    # Write-then-rename so a concurrent reader never sees half a file; a cache we cannot
    # write is only slower, never wrong.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(code, encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass


def _compile(source: str, filename: str) -> str:
    from py_mini_racer import MiniRacer  # the `js` extra; imported only when compiling

    compiler = compiler_path().read_text(encoding="utf-8")
    with MiniRacer() as v8:
        v8.eval(compiler)
        v8.eval(TRANSFORM.read_text(encoding="utf-8"))
        result = json.loads(v8.call("transpilePlugin", source, filename))
    errors = result["diagnostics"]
    if errors:
        first = errors[0]
        where = f"{filename}:{first['line']}:{first['column']}" if first["line"] else filename
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PluginLoadError(f"{where}: SyntaxError: {first['message']}{more}")
    return _strip_source_map(result["code"])


def _strip_source_map(code: str) -> str:
    return re.sub(r"\n//# sourceMappingURL=.*$", "", code)
