"""Fixtures of the versioning area (runbook 001 §6.4, 004): /api/v1 and the legacy endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from releasegate.core.profile import Target, require_section
from releasegate.gate.parametrize import checklist_params
from releasegate.gate.stash import target_of
from releasegate.http.client import HttpTarget
from releasegate.versioning.api import VersionedApi


@pytest.fixture(scope="session")
def versioned_api(target: Target, http_target_factory: Callable[[Any], HttpTarget]) -> VersionedApi:
    return VersionedApi(target, http_target_factory(require_section(target, "versioning")))


def _legacy(cfg: dict[str, Any], decision: str | None = None) -> list[str]:
    legacy = cfg.get("legacy") or {}
    return [name for name, ep in (legacy.get("endpoints") or {}).items()
            if decision is None or (ep.get("decision") or legacy.get("decision")) == decision]


PARAMETERS: dict[str, tuple[Callable[[dict[str, Any]], list[str]], str]] = {
    "v1_endpoint": (lambda cfg: list(cfg.get("endpoints") or {}), "versioning.endpoints"),
    "legacy_endpoint": (_legacy, "versioning.legacy.endpoints"),
    "supported_legacy": (lambda cfg: _legacy(cfg, "supported"),
                         "versioning.legacy.endpoints with decision supported"),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One checklist line per endpoint; the first v1 endpoint is in the smoke subset."""
    target = target_of(metafunc.config)
    cfg = dict((target.section("versioning") if target else None) or {})
    for argname, (select, missing) in PARAMETERS.items():
        if argname not in metafunc.fixturenames:
            continue
        names = select(cfg)
        smoke = names[:1] if argname == "v1_endpoint" else []  # one v1 endpoint (issue 6 §9)
        metafunc.parametrize(argname, checklist_params(
            names, smoke=smoke, missing=missing if cfg else "versioning",
            target_name=target.name if target else None))
