"""The alliance registry (configs/alliances.yaml): canonical ids, full names and the words news uses.

`describe(target)` is what the model reads as the first segment of its input, e.g.
"CSTO, Collective Security Treaty Organization", so that it can transfer what it learned about one
military bloc to another it saw few rows of.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import StanceError

REGISTRY_PATH = Path(__file__).resolve().parents[2] / "configs" / "alliances.yaml"
KINDS = ("military", "economic", "political", "intelligence", "energy")


@dataclass(frozen=True)
class Alliance:
    """One alliance: its canonical id, full name, kind and the surface forms that refer to it."""

    id: str
    name: str
    kind: str
    abbreviations: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()
    city_as_actor: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    anaphors: tuple[str, ...] = ()  # anaphor phrases that may refer to it whatever its kind


@dataclass(frozen=True)
class Anaphor:
    """A noun phrase ("the bloc") that refers back to the last-named alliance of one of `kinds`."""

    phrase: str  # the words, or a regular expression when `is_pattern`
    kinds: tuple[str, ...]
    window: int | None = None  # resolve only to an alliance named within this many sentences
    is_pattern: bool = False


@dataclass(frozen=True)
class Registry:
    alliances: dict[str, Alliance]
    anaphors: tuple[Anaphor, ...] = field(default=())

    def describe(self, target: str) -> str:
        """The target as the model reads it: "ID, full name" (or the id alone if unknown)."""
        alliance = self.alliances.get(target)
        if alliance is None or alliance.name == target:
            return target
        return f"{target}, {alliance.name}"


def _as_tuple(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StanceError(f"{where}: expected a list of strings")
    return tuple(value)


def parse_registry(data: dict, source: str) -> Registry:
    """Build a Registry from the YAML structure, with errors naming the file and the entry."""
    if not isinstance(data, dict) or not isinstance(data.get("alliances"), dict):
        raise StanceError(f"{source}: expected a mapping with an 'alliances' section")
    alliances = {}
    for key, spec in data["alliances"].items():
        where = f"{source}: alliances.{key}"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise StanceError(f"{where}: needs at least a 'name'")
        kind = spec.get("kind", "political")
        if kind not in KINDS:
            raise StanceError(f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
        alliances[str(key)] = Alliance(
            id=str(key),
            name=spec["name"],
            kind=kind,
            **{
                f: _as_tuple(spec.get(f), f"{where}.{f}")
                for f in ("abbreviations", "names", "descriptions", "city_as_actor", "avoid", "anaphors")
            },
        )
    anaphors = []
    for i, spec in enumerate(data.get("anaphors") or []):
        if not isinstance(spec, dict) or not isinstance(spec.get("phrase", spec.get("pattern")), str):
            raise StanceError(f"{source}: anaphors[{i}]: needs a 'phrase' or a 'pattern'")
        if "pattern" in spec:
            try:
                re.compile(spec["pattern"])
            except re.error as e:
                raise StanceError(f"{source}: anaphors[{i}].pattern: {e}") from None
        window = spec.get("window")
        if window is not None and (not isinstance(window, int) or window < 0):
            raise StanceError(f"{source}: anaphors[{i}].window: expected a whole number of sentences")
        kinds = _as_tuple(spec.get("kinds", list(KINDS)), f"{source}: anaphors[{i}]")
        anaphors.append(Anaphor(spec.get("phrase", spec.get("pattern")), kinds, window, "pattern" in spec))
    return Registry(alliances, tuple(anaphors))


def read_registry_file(path: str | Path) -> Registry:
    path = Path(path)
    if not path.is_file():
        raise StanceError(f"{path}: alliance registry not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise StanceError(f"{path}: not valid YAML: {e}") from None
    return parse_registry(data, str(path))


@functools.lru_cache(maxsize=8)
def load_registry(extra: str | None = None) -> Registry:
    """The shipped registry, merged with a user's file of the same shape (its entries win)."""
    base = read_registry_file(REGISTRY_PATH)
    if extra is None:
        return base
    more = read_registry_file(extra)
    return Registry({**base.alliances, **more.alliances}, base.anaphors + more.anaphors)


def describe(target: str) -> str:
    """The target as the model reads it, from the shipped registry."""
    return load_registry().describe(target)


def known_targets() -> set[str]:
    return set(load_registry().alliances)
