"""What the gate keeps on pytest's config and items: the run's state, each check's record.

One small module so the plugin's parts (plugin, fixtures, outcome) share the keys without
importing each other.
"""

from __future__ import annotations

import pytest

from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target
from releasegate.gate import waivers
from releasegate.gate.results import CheckMeta
from releasegate.gate.run import RunState

STATE = pytest.StashKey[RunState]()
DEFERRED = pytest.StashKey[BaseException]()  # what a fixture saw of the target, raised in the call
EVIDENCE = pytest.StashKey[Evidence]()
META = pytest.StashKey[CheckMeta]()
WAIVER = pytest.StashKey[waivers.Waiver]()
NO_TARGET = "no target profile: pass --target PROFILE or set RELEASEGATE_TARGET"


def state(config: pytest.Config) -> RunState | None:
    return config.stash.get(STATE, None)


def target_of(config: pytest.Config) -> Target | None:
    """The run's target at collection time (for parametrizing checks from the profile)."""
    run = state(config)
    return run.target if run else None
