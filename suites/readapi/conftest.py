"""Fixtures of the Read API area (runbook 000 §3): the target's Read API, one per run.

Checks are parametrized from the profile: one checklist line per endpoint or stream. A check
whose part is not configured gets one N/A line naming what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target, require_section
from releasegate.core.redact import Redactor
from releasegate.gate.parametrize import checklist_params
from releasegate.gate.stash import target_of
from releasegate.readapi.api import ENDPOINT_DEFAULTS, WRITE_METHODS, ReadApi
from releasegate.readapi.view import ReadApiView


@pytest.fixture(scope="session")
def read_api(request: pytest.FixtureRequest, target: Target, redactor: Redactor) -> Iterator[ReadApi]:
    require_section(target, "read_api")
    api = ReadApi(target, redactor)
    if any(getattr(item, "originalname", "") == "test_stream_keeps_alive" for item in request.session.items):
        api.start_windows()  # the keep-alive windows overlap every check that runs before them
    yield api
    api.close()


@pytest.fixture
def readapi(read_api: ReadApi, evidence: Evidence) -> ReadApiView:
    return ReadApiView(read_api, evidence)


def _limited(ep: Mapping[str, Any]) -> bool:
    return ep.get("limit_param", ENDPOINT_DEFAULTS["limit_param"]) in (ep.get("params") or {})


def _write_methods(cfg: Mapping[str, Any]) -> list[str]:
    return list((cfg.get("read_only") or {}).get("methods") or WRITE_METHODS) \
        if cfg.get("endpoints") or cfg.get("read_only") else []


# argname -> (the names it takes from read_api, what is missing when there are none)
Select = Callable[[Mapping[str, Any]], list[str]]
PARAMETERS: dict[str, tuple[Select, str]] = {
    "endpoint": (lambda cfg: list(cfg.get("endpoints") or {}), "read_api.endpoints"),
    "limited_endpoint": (lambda cfg: [n for n, ep in (cfg.get("endpoints") or {}).items()
                                      if _limited(ep)], "read_api.endpoints.*.params.limit"),
    "filtered_endpoint": (lambda cfg: [n for n, ep in (cfg.get("endpoints") or {}).items()
                                       if ep.get("filters")], "read_api.endpoints.*.filters"),
    "unknown_id_endpoint": (lambda cfg: [n for n, ep in (cfg.get("endpoints") or {}).items()
                                         if ep.get("unknown_path")], "read_api.endpoints.*.unknown_path"),
    "write_method": (_write_methods, "read_api.endpoints"),
    "stream": (lambda cfg: list(cfg.get("streams") or {}), "read_api.streams"),
    "keepalive_stream": (lambda cfg: [n for n, s in (cfg.get("streams") or {}).items()
                                      if s.get("keepalive_s")], "read_api.streams.*.keepalive_s"),
    "resumable_stream": (lambda cfg: [n for n, s in (cfg.get("streams") or {}).items()
                                      if s.get("resume", True)], "read_api.streams.*.resume"),
}


SMOKE_CHECKS = ("test_endpoint_answers_200", "test_stream_delivers_expected_event")


def smoke_names(check: str, names: list[str]) -> set[str]:
    """The smoke subset (issue 6 §9): /v1/health, one authenticated REST call, one SSE event."""
    if check == SMOKE_CHECKS[0]:
        rest = [n for n in names if n != "health"]
        return {n for n in names if n == "health"} | set(rest[:1])
    if check == SMOKE_CHECKS[1]:
        return set(names[:1])
    return set()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    target = target_of(metafunc.config)
    cfg = (target.section("read_api") if target else None) or {}
    for argname, (select, missing) in PARAMETERS.items():
        if argname not in metafunc.fixturenames:
            continue
        names = select(cfg) if cfg else []
        metafunc.parametrize(argname, checklist_params(
            names, smoke=smoke_names(metafunc.function.__name__, names),
            missing=missing if cfg else "read_api", target_name=target.name if target else None))
