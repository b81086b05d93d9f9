"""The fleet file: many targets, shared defaults, per-target overrides, waves (docs/fleet.md).

Each target becomes an ordinary profile: ``defaults`` ← the target's ``profile`` file ← the
target's own keys, mappings merged key by key, anything else replaced. ``${VARS}`` stay as
written until the profile is loaded, so each target's secrets are found and masked as in a
one-target run. A bad fleet file or a bad target stops the run with one line (exit 64).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from releasegate.core.errors import ProfileError
from releasegate.core.profile import load_schema, load_target

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENTRY_KEYS = ("name", "profile", "expect_build")


@dataclass(frozen=True)
class FleetTarget:
    """One target of a fleet: its merged profile (``${VARS}`` unexpanded), wave and build."""

    name: str
    data: Mapping[str, Any] = field(repr=False)  # may hold literal credentials
    wave: str | None = None
    expect_build: str | None = None
    source: str = ""  # where it came from, for messages
    base_dir: Path = Path()  # where its relative paths resolve: its profile file's, else the fleet's

    @property
    def slug(self) -> str:
        """A directory name for its reports."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("._") or "target"


@dataclass(frozen=True)
class Fleet:
    name: str
    targets: tuple[FleetTarget, ...]
    waves: tuple[str, ...] = ()  # in rollout order; empty when none are named

    def wave_of(self) -> dict[str, str | None]:
        return {t.name: t.wave for t in self.targets}


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.load(path.read_text(), Loader=_SafeLoader)
    except FileNotFoundError:
        raise ProfileError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ProfileError(f"{what} {path} cannot be read: {why}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ProfileError(f"{what} {path}{where}: {getattr(exc, 'problem', None) or 'not valid YAML'}"
                           ) from None


def _entry(entry: Any, defaults: Mapping[str, Any], base_dir: Path, wave: str | None,
           where: str) -> FleetTarget:
    if isinstance(entry, str):
        entry = {"profile": entry}
    data: dict[str, Any] = dict(defaults)
    source, home = where, base_dir
    if entry.get("profile"):
        path = Path(entry["profile"])
        path = path if path.is_absolute() else base_dir / path
        raw = _read_yaml(path, f"{where}: profile")
        if not isinstance(raw, Mapping):
            raise ProfileError(f"{where}: profile {path}: expected a mapping at the top level")
        data = deep_merge(data, raw)
        source, home = f"{where} ({path})", path.parent
    data = deep_merge(data, {k: v for k, v in entry.items() if k not in ENTRY_KEYS})
    if entry.get("name"):
        data["name"] = entry["name"]
    if not data.get("name"):
        raise ProfileError(f"{where}: no name (give the target a name: or a profile with one)")
    return FleetTarget(str(data["name"]), data, wave, entry.get("expect_build"), source, home)


def load_fleet(path: str | os.PathLike[str]) -> Fleet:
    """Read and validate a fleet file and every target's profile; one line on any problem."""
    fleet_path = Path(path)
    raw = _read_yaml(fleet_path, "fleet file")
    if not isinstance(raw, Mapping):
        raise ProfileError(f"fleet file {fleet_path}: expected a mapping at the top level")
    schema = load_schema("fleet.schema.json")
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(raw))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        # a mapping's message would print it whole, with any credential written in it
        what = error.message if not isinstance(error.instance, Mapping) else \
            f"not a valid {error.absolute_path[-1] if error.absolute_path else 'fleet'} entry " \
            f"({error.validator}; see schemas/fleet.schema.json)"
        raise ProfileError(f"fleet file {fleet_path}: {where}: {what}")
    defaults = raw.get("defaults") or {}
    base = fleet_path.parent
    targets = [_entry(e, defaults, base, None, f"fleet file {fleet_path}: targets[{i}]")
               for i, e in enumerate(raw.get("targets") or [])]
    waves = []
    for w, wave in enumerate(raw.get("waves") or []):
        waves.append(wave["name"])
        targets += [_entry(e, defaults, base, wave["name"],
                           f"fleet file {fleet_path}: waves[{w}].targets[{i}]")
                    for i, e in enumerate(wave["targets"])]
    fleet = Fleet(str(raw.get("name") or fleet_path.stem), tuple(targets), tuple(waves))
    _unique(fleet, str(fleet_path))
    return fleet


def fleet_of_profiles(paths: Sequence[str]) -> Fleet:
    """Several ``--target`` profiles: a fleet without defaults or waves."""
    targets = []
    for path in paths:
        raw = _read_yaml(Path(path), "target profile")
        if not isinstance(raw, Mapping) or not raw.get("name"):
            load_target(path)  # says what is wrong with it, in the profile's own words
            raise ProfileError(f"target profile {path}: no name")
        targets.append(FleetTarget(str(raw["name"]), raw, None, None, f"target profile {path}",
                                   Path(path).parent))
    fleet = Fleet("fleet", tuple(targets))
    _unique(fleet, "--target")
    return fleet


def _unique(fleet: Fleet, where: str) -> None:
    seen: dict[str, str] = {}
    for t in fleet.targets:
        if t.slug in seen:
            raise ProfileError(f"{where}: two targets named {t.name!r} ({seen[t.slug]} and "
                               f"{t.source}): give each target its own name")
        seen[t.slug] = t.source


def write_profiles(fleet: Fleet, fallback: Path) -> dict[str, Path]:
    """Each target as a profile file, each loaded once so a bad one stops the run before any
    check. A file goes beside the target's own profile (or the fleet file), where its relative
    paths resolve as they would in a one-target run, as a hidden file only its owner can read
    (it may hold literal credentials); in ``fallback`` when that directory is not writable.
    ``remove_profiles`` deletes them when the run ends."""
    paths: dict[str, Path] = {}
    try:
        for t in fleet.targets:
            text = yaml.safe_dump(dict(t.data), sort_keys=False, allow_unicode=True)
            paths[t.name] = _private_file(t, text, fallback)
            try:
                load_target(paths[t.name])
            except ProfileError as exc:
                raise ProfileError(f"{t.source}: target {t.name!r}: "
                                   f"{str(exc).split(': ', 1)[-1]}") from None
    except BaseException:
        remove_profiles(paths)
        raise
    return paths


def _private_file(t: FleetTarget, text: str, fallback: Path) -> Path:
    for directory in (t.base_dir, fallback):
        path = directory / f".releasegate-fleet-{os.getpid()}-{t.slug}.yaml"
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return path
    raise ProfileError(f"{t.source}: target {t.name!r}: cannot write its profile to {t.base_dir} "
                       f"or {fallback}")


def remove_profiles(paths: Mapping[str, Path]) -> None:
    for path in paths.values():
        path.unlink(missing_ok=True)


def private_dir() -> Path:
    """Where the targets' merged profiles go for the run's duration (never the report dir)."""
    return Path(tempfile.mkdtemp(prefix="releasegate-fleet-"))
