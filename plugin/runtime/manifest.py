"""plugin.json: the manifest and its config schema.

PostHog's server applies no defaults and no validation (only its frontend does); hosts
that take config from users call `validate_config`, which also fills in defaults as the
frontend did when a config was created.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, ManifestError

FIELD_TYPES = ("string", "json", "attachment", "choice")


@dataclass(frozen=True)
class ConfigField:
    key: str
    type: str
    name: str = ""
    default: str | None = None
    required: bool = False
    secret: bool = False
    choices: tuple[str, ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class Manifest:
    name: str
    main: str
    path: Path
    config: tuple[ConfigField, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def main_path(self) -> Path:
        return (self.path.parent / self.main).resolve()

    def field(self, key: str) -> ConfigField | None:
        return next((f for f in self.config if f.key == key), None)

    @property
    def secret_keys(self) -> frozenset[str]:
        return frozenset(f.key for f in self.config if f.secret)


def load_manifest(path: str | Path) -> Manifest:
    """Read and check a plugin.json (or the plugin.json inside a directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / "plugin.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ManifestError(f"cannot read plugin manifest {path}: {error.strerror}") from None
    except ValueError as error:
        raise ManifestError(f"{path} is not valid JSON: {error}") from None
    return parse_manifest(data, path)


def parse_manifest(data: Any, path: str | Path) -> Manifest:
    """Check an already-read plugin.json; `path` names it in messages and anchors `main`."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: the manifest must be a JSON object")
    for key in ("name", "main"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ManifestError(f"{path}: {key!r} must be a non-empty string")
    fields = []
    for index, raw in enumerate(data.get("config", [])):
        if not isinstance(raw, dict):
            raise ManifestError(f"{path}: config[{index}] must be an object")
        if "key" not in raw:
            continue  # markdown-only entries carry no value
        kind = raw.get("type", "string")
        if kind not in FIELD_TYPES:
            raise ManifestError(f"{path}: config[{index}] ({raw['key']}) has unknown type {kind!r}; "
                                f"use one of {', '.join(FIELD_TYPES)}")
        choices = tuple(raw.get("choices", ()))
        if kind == "choice" and not choices:
            raise ManifestError(f"{path}: config[{index}] ({raw['key']}) is a choice without choices")
        fields.append(ConfigField(
            key=raw["key"], type=kind, name=raw.get("name", ""), default=raw.get("default"),
            required=bool(raw.get("required", False)), secret=bool(raw.get("secret", False)),
            choices=choices, hint=raw.get("hint", ""),
        ))
    return Manifest(name=data["name"], main=data["main"], path=path.resolve(), config=tuple(fields),
                    description=data.get("description", ""))


def validate_config(manifest: Manifest, config: Mapping[str, Any], *, fill_defaults: bool = True) -> dict[str, Any]:
    """Check a user's config against the manifest; every problem in one ConfigError."""
    problems = []
    known = {f.key for f in manifest.config}
    for key in config:
        if key not in known:
            problems.append(f"unknown config key {key!r} (known keys: {', '.join(sorted(known))})")
    result: dict[str, Any] = {}
    for spec in manifest.config:
        value = config.get(spec.key)
        if value is None or value == "":
            # The frontend pre-fills defaults, so a required field with one is satisfied.
            if fill_defaults and spec.default not in (None, ""):
                result[spec.key] = spec.default
            elif spec.required:
                problems.append(f"{spec.key} ({spec.name or spec.key}) is required")
            continue
        if spec.type in ("string", "choice") and not isinstance(value, str):
            problems.append(f"{spec.key} must be a string, got {type(value).__name__}")
            continue
        if spec.type == "choice" and value not in spec.choices:
            problems.append(f"{spec.key}={value!r} is not allowed; choose one of: "
                            + ", ".join(repr(c) for c in spec.choices))
            continue
        result[spec.key] = value
    if problems:
        raise ConfigError("invalid config: " + "; ".join(problems))
    return result
