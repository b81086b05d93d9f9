"""One checklist line per configured thing: checks parametrized from the target profile.

An area's ``pytest_generate_tests`` names what a check runs over (endpoints, streams, legacy
paths); when the profile configures none, the check gets one N/A line saying what is missing,
instead of pytest's "got empty parameter set".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest


def checklist_params(names: Iterable[str], *, missing: str, target_name: str | None,
                     smoke: Iterable[str] = ()) -> list[Any]:
    """``pytest.param`` per name (``smoke`` ones marked), or a single N/A line naming ``missing``."""
    chosen = set(smoke)
    params = [pytest.param(n, marks=[pytest.mark.smoke] if n in chosen else []) for n in names]
    return params or [pytest.param(None, id="none", marks=pytest.mark.skip(
        reason=f"{missing}: not configured in target {target_name or '(none)'}"))]
