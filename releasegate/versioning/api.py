"""API versioning (runbook 001 §6.4, 004 post-deploy checklist): /api/v1 and the legacy decision.

The v1 endpoints and their legacy counterparts are fetched once per run: the status checks, the
structure comparison and the deprecation headers judge the same answers. Judging is done by pure
functions (``structure_diff``, ``deprecation_problems``, ``unlisted_paths``), unit-tested.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from releasegate.core.profile import Target
from releasegate.http.client import Fetch, HttpTarget
from releasegate.readapi.api import query

REMOVED_STATUS = (404, 410)
OPENAPI_PATH = "/openapi.json"
SAMPLE_ITEMS = 50  # list elements whose shapes are merged into the list's shape

# --- structure: keys and JSON types ------------------------------------------------------------

# A shape is a JSON type name ("string", "number", "boolean", "null"), a dict of key -> shape for
# an object, ("array", element shape or None when empty) for a list, or "mixed".
Shape = Any


def shape(value: Any) -> Shape:
    """The structure of a JSON value: its keys and types, the elements of a list merged."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        merged: Shape = None
        for element in value[:SAMPLE_ITEMS]:
            merged = _merge(merged, shape(element))
        return ("array", merged)
    if isinstance(value, Mapping):
        return {str(k): shape(v) for k, v in value.items()}
    return type(value).__name__


def _merge(a: Shape, b: Shape) -> Shape:
    """Two elements of one list: keys present in either; null fits any type."""
    if a is None or a == "null":
        return b if b is not None else a
    if b is None or b == "null":
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k)) for k in {**a, **b}}
    if isinstance(a, tuple) and isinstance(b, tuple):
        return ("array", _merge(a[1], b[1]))
    return a if a == b else "mixed"


def _kind(s: Shape) -> str:
    return "object" if isinstance(s, dict) else "array" if isinstance(s, tuple) else str(s)


def structure_diff(v1: Shape, legacy: Shape, where: str = "") -> list[str]:
    """Where the legacy structure differs from v1: missing or extra keys, other types.

    A null on either side, or an empty list, says nothing about the type and is not a difference.
    """
    if v1 is None or legacy is None or "null" in (v1, legacy):
        return []
    if isinstance(v1, dict) and isinstance(legacy, dict):
        out: list[str] = []
        for key in sorted(v1.keys() - legacy.keys()):
            out.append(f"{where}{key}: missing in legacy")
        for key in sorted(legacy.keys() - v1.keys()):
            out.append(f"{where}{key}: only in legacy")
        for key in sorted(v1.keys() & legacy.keys()):
            out += structure_diff(v1[key], legacy[key], f"{where}{key}.")
        return out
    if isinstance(v1, tuple) and isinstance(legacy, tuple):
        return structure_diff(v1[1], legacy[1], f"{where.rstrip('.')}[].")
    if v1 == legacy:
        return []
    return [f"{where.rstrip('.') or '(top level)'}: {_kind(v1)} in v1, {_kind(legacy)} in legacy"]


# --- deprecation announcements (RFC 9745, RFC 8594) --------------------------------------------

_SF_DATE = re.compile(r"@-?\d{1,12}")


def deprecation_problems(headers: Mapping[str, str], now: datetime | None = None) -> list[str]:
    """What is wrong with a supported legacy endpoint's Deprecation and Sunset headers."""
    now = now or datetime.now(timezone.utc)
    problems: list[str] = []
    deprecated_at = sunset_at = None
    deprecation, sunset = headers.get("deprecation"), headers.get("sunset")
    if deprecation is None:
        problems.append("no Deprecation header (RFC 9745)")
    elif not _SF_DATE.fullmatch(deprecation.strip()):
        problems.append(f"Deprecation {deprecation!r} is not an RFC 9745 date (@<unix seconds>)")
    else:
        deprecated_at = datetime.fromtimestamp(int(deprecation.strip()[1:]), timezone.utc)
    if sunset is None:
        problems.append("no Sunset header (RFC 8594)")
    else:
        try:
            sunset_at = parsedate_to_datetime(sunset)
        except (TypeError, ValueError):
            problems.append(f"Sunset {sunset!r} is not an HTTP-date (RFC 8594)")
        else:
            if sunset_at.tzinfo is None:
                sunset_at = sunset_at.replace(tzinfo=timezone.utc)
            if sunset_at <= now:
                problems.append(f"Sunset {sunset!r} has passed: the endpoint should be gone by now")
    if deprecated_at and sunset_at and sunset_at < deprecated_at:
        problems.append("Sunset is earlier than Deprecation (RFC 9745 §3)")
    return problems


# --- OpenAPI ------------------------------------------------------------------------------------


def _template(path: str) -> re.Pattern[str]:
    """An OpenAPI path template as a regex: /leads/{domain} matches /leads/example.com."""
    parts = re.split(r"(\{[^}/]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p))


def unlisted_paths(document: Any, wanted: Iterable[str]) -> list[str]:
    """The concrete ``wanted`` paths that no path template of the OpenAPI document matches."""
    document = document if isinstance(document, Mapping) else {}
    paths = list(document["paths"]) if isinstance(document.get("paths"), Mapping) else []
    servers = document.get("servers") if isinstance(document.get("servers"), list) else []
    prefixes = {""} | {urlsplit(str(s.get("url", ""))).path.rstrip("/")
                       for s in servers if isinstance(s, Mapping)}
    templates = [_template(prefix + p) for prefix in prefixes for p in paths]
    return [w for w in wanted if not any(t.fullmatch(w.split("?", 1)[0]) for t in templates)]


# --- the engine ---------------------------------------------------------------------------------


class VersionedApi:
    """The v1 and legacy endpoints of one target; each fetched at most once per run."""

    def __init__(self, target: Target, http: HttpTarget) -> None:
        self.target = target
        self.http = http
        self.cfg: Mapping[str, Any] = target.section("versioning") or {}
        self._cache: dict[str, Fetch] = {}

    def _once(self, path: str) -> Fetch:
        if path not in self._cache:
            self._cache[path] = self.http.fetch(path)
        return self._cache[path]

    def v1_endpoints(self) -> Mapping[str, Mapping[str, Any]]:
        return self.cfg.get("endpoints") or {}

    def legacy_endpoints(self) -> Mapping[str, Mapping[str, Any]]:
        return (self.cfg.get("legacy") or {}).get("endpoints") or {}

    def allowed(self, name: str) -> list[int]:
        return list(self.v1_endpoints()[name].get("allowed_status") or [200])

    def decision(self, name: str) -> str:
        legacy = self.cfg.get("legacy") or {}
        return str(self.legacy_endpoints()[name].get("decision") or legacy.get("decision", "removed"))

    def removed_status(self) -> list[int]:
        return list((self.cfg.get("legacy") or {}).get("removed_status") or REMOVED_STATUS)

    def counterpart(self, name: str) -> str:
        """The v1 endpoint a legacy one stands for: its ``v1`` key, else the same name."""
        return str(self.legacy_endpoints()[name].get("v1") or name)

    def v1(self, name: str) -> Fetch:
        ep = self.v1_endpoints()[name]
        return self._once(query(ep["path"], ep.get("params")))

    def legacy(self, name: str) -> Fetch:
        ep = self.legacy_endpoints()[name]
        return self._once(query(ep["path"], ep.get("params")))

    def openapi_path(self) -> str:
        return str((self.cfg.get("openapi") or {}).get("path") or OPENAPI_PATH)

    def openapi(self) -> Fetch:
        return self._once(self.openapi_path())
