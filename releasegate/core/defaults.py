"""Thresholds a runbook does not give are named defaults, and say so wherever they are used.

A check reads each threshold through ``resolve``: the profile's value, or the default with its
profile key and why it is what it is. The phrase goes into the check's evidence (and into the
message where the threshold decides), so a reader can tell a runbook number from our choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Default:
    key: str  # the profile key, dotted: "database.backfill.stuck_after_s"
    value: Any
    why: str  # the runbook line it comes from, or "releasegate default: <reason>"

    @property
    def name(self) -> str:
        return self.key.rsplit(".", 1)[-1]


def resolve(cfg: Mapping[str, Any] | None, default: Default) -> tuple[Any, str]:
    """The value to use and where it came from, in words."""
    if cfg and default.name in cfg:
        return cfg[default.name], f"{default.key}={cfg[default.name]} (profile)"
    return default.value, f"{default.key}={default.value} (default; {default.why})"
