"""The fixtures every suite shares: the target, the run, evidence, pooled HTTP clients, facts.

Registered with the plugin (its ``pytest_plugins``), so suites run from any directory. Area
fixtures live in each suites/<area>/conftest.py, or in area_fixtures.py when two areas share them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target
from releasegate.core.redact import Redactor
from releasegate.gate.run import RunState
from releasegate.gate.stash import EVIDENCE, NO_TARGET, state

if TYPE_CHECKING:
    from releasegate.http.client import HttpTarget


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The validated target profile of this run."""
    run = state(pytestconfig)
    if run is None:
        pytest.skip(NO_TARGET)
    return run.target


@pytest.fixture(scope="session")
def run_state(pytestconfig: pytest.Config, target: Target) -> RunState:
    run = state(pytestconfig)
    assert run is not None
    return run


@pytest.fixture(scope="session")
def redactor(run_state: RunState) -> Redactor:
    return run_state.redactor


@pytest.fixture
def evidence(request: pytest.FixtureRequest, redactor: Redactor) -> Evidence:
    """What this check saw; attached to its result in every output, redacted."""
    item = request.node
    if EVIDENCE not in item.stash:
        item.stash[EVIDENCE] = Evidence(redactor)
    return item.stash[EVIDENCE]


@pytest.fixture(scope="session")
def http_target_factory(target: Target) -> Iterator[Any]:
    """Pooled HTTP clients, one per base URL, closed at the end of the run."""
    from releasegate.http.client import HttpTarget  # httpx loads when a check asks for HTTP

    made: dict[tuple[str, str], HttpTarget] = {}

    def make(section: dict[str, Any]) -> HttpTarget:
        verify: bool | str = section.get("ca_bundle") or section.get("verify_tls", True)
        key = (section["base_url"], json.dumps(section.get("headers", {}), sort_keys=True))
        if key not in made:
            made[key] = HttpTarget(section["base_url"], timeouts=target.timeouts,
                                   body_limit=target.body_limit,
                                   headers=section.get("headers"), verify=verify)
        return made[key]

    yield make
    for client in made.values():
        client.close()


@pytest.fixture(scope="session")
def record_fact(run_state: RunState) -> Any:
    """Let a check publish a fact about the target (build_id, config_hash) for the report."""

    def record(**facts: Any) -> None:
        run_state.facts.update({k: v for k, v in facts.items() if v is not None})

    return record


@pytest.fixture(scope="session")
def record_note(run_state: RunState) -> Any:
    """Let a check leave a note for the run — shown beside the verdict in the terminal, the
    report and summary.json even when the check passes (a difference a tolerance let through)."""

    def record(note: str) -> None:
        if note not in run_state.notes:
            run_state.notes.append(note)

    return record
