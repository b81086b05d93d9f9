"""Root conftest for suites/: only what every area shares.

The fixtures every check uses (target, evidence, http_target_factory, record_fact) come from the
releasegate plugin itself, so suites can be run from any directory; area fixtures live in each
suites/<area>/conftest.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
NOT_CHECKS = {"tests", "benches", "reference", "scripts", "docs", "examples"}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A run against a target collects checks only, also when pytest found no config file
    (a profile outside the repo makes pytest search for its config from there)."""
    if (config.getoption("target", None) or os.environ.get("RELEASEGATE_TARGET")) \
            and collection_path.parent == ROOT \
            and collection_path.name in NOT_CHECKS:
        return True
    return None
