"""Fixtures of the redis area: one bounded Redis connection per run, INFO read once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target
from releasegate.redis.view import RedisView, target_for


@pytest.fixture(scope="session")
def redis_target(target: Target) -> Iterator[Any]:
    made = target_for(target)  # N/A when the profile has no redis section
    yield made
    made.close()


@pytest.fixture
def rds(redis_target: Any, evidence: Evidence) -> RedisView:
    return RedisView(redis_target, evidence)
