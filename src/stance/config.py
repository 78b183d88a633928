"""YAML configuration with dotted `key=value` overrides from the command line."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from .errors import StanceError

DEFAULT_CONFIG = Path("configs/default.yaml")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> dict[str, Any]:
    """Read a YAML config and apply overrides such as `training.learning_rate=3e-5`.

    Values are parsed as YAML, so `3e-5`, `true`, `[a, b]` and `null` get their natural types.
    An override may only set a key that the config already has: a typo fails loudly.
    """
    path = Path(path or DEFAULT_CONFIG)
    if not path.is_file():
        raise StanceError(f"{path}: config file not found")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise StanceError(f"{path}: not valid YAML: {e}") from None
    return apply_overrides(config, overrides or [])


def apply_overrides(config: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of `config` with each `dotted.key=value` override applied."""
    config = copy.deepcopy(config)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise StanceError(f"override {item!r}: expected KEY=VALUE, e.g. training.epochs=3")
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise StanceError(f"override {item!r}: unknown section {part!r}")
            node = node[part]
        if leaf not in node:
            raise StanceError(f"override {item!r}: unknown key {key!r} (known: {', '.join(node)})")
        node[leaf] = parse_value(raw)
    return config


def parse_value(raw: str) -> Any:
    """A YAML scalar or list; also reads `3e-5` as a number, which YAML 1.1 leaves a string."""
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return value
