"""Finding a JavaScript plugin's code: a directory, a single file, or a zip archive.

A directory or archive holds plugin.json, whose `main` names the entry file (else
index.ts, then index.js, as the plugin-server looks). GitHub's archives put everything
under one top folder (`customerio-plugin-main/`); that folder is found automatically.
"""

from __future__ import annotations

import json
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import PluginLoadError

ENTRY_FALLBACKS = ("index.ts", "index.js")
SOURCE_SUFFIXES = (".ts", ".js", ".mjs", ".cjs")


@dataclass
class PluginSource:
    """The entry file's text, its name (for messages and stack traces) and the manifest."""

    code: str
    filename: str
    origin: str
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or Path(self.filename).stem)


def load_source(path: str | Path) -> PluginSource:
    location = Path(path)
    if not location.exists():
        raise PluginLoadError(f"JavaScript plugin not found: {location}")
    if location.is_dir():
        return _from_files({p.relative_to(location).as_posix(): p for p in location.rglob("*") if p.is_file()},
                           str(location), lambda p: p.read_bytes())
    if location.suffix == ".zip":
        try:
            archive = zipfile.ZipFile(location)
        except zipfile.BadZipFile as error:
            raise PluginLoadError(f"{location}: not a zip archive ({error})") from None
        with archive:
            names = {info.filename: info.filename for info in archive.infolist() if not info.is_dir()}
            return _from_files(names, str(location), archive.read)
    if location.suffix not in SOURCE_SUFFIXES:
        raise PluginLoadError(
            f"{location}: expected a plugin directory, a .zip archive or a {'/'.join(SOURCE_SUFFIXES)} file"
        )
    manifest_path = location.with_name("plugin.json")
    manifest = _manifest(manifest_path.read_bytes(), str(manifest_path)) if manifest_path.is_file() else {}
    return PluginSource(_text(location.read_bytes(), str(location)), location.name, str(location), manifest)


def _from_files(files: dict[str, Any], origin: str, read: Any) -> PluginSource:
    manifests = sorted((name for name in files if posixpath.basename(name) == "plugin.json"),
                       key=lambda name: name.count("/"))
    if not manifests:
        raise PluginLoadError(f"{origin}: no plugin.json found")
    root = posixpath.dirname(manifests[0])
    manifest = _manifest(read(files[manifests[0]]), f"{origin}/{manifests[0]}")
    main = manifest.get("main")
    candidates = [main] if isinstance(main, str) and main else list(ENTRY_FALLBACKS)
    for candidate in candidates:
        name = posixpath.normpath(posixpath.join(root, candidate))
        if name in files:
            return PluginSource(_text(read(files[name]), f"{origin}/{name}"), posixpath.basename(name),
                                f"{origin}/{name}", manifest)
    raise PluginLoadError(f"{origin}: plugin.json names main {candidates[0]!r}, which is not in the plugin"
                          if main else f"{origin}: no main in plugin.json and no index.ts or index.js")


def _manifest(raw: bytes, where: str) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except ValueError as error:
        raise PluginLoadError(f"{where}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise PluginLoadError(f"{where}: must be a JSON object")
    return manifest


def _text(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PluginLoadError(f"{where}: not UTF-8 text ({error})") from None
