"""The serving build (002 §2.1): what /health/ready says about build_id and config_hash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Evidence
from releasegate.http.client import Fetch


def serving_build(fetch: Fetch, evidence: Evidence,
                  record_fact: Callable[..., None] | None = None) -> dict[str, Any]:
    """build_id and config_hash of the readiness answer (its body says them even with a 503),
    also published for the report's header when ``record_fact`` is given."""
    __tracebackhide__ = True
    evidence.http(fetch)
    body = fetch.json()
    if not isinstance(body, dict) or not body.get("build_id"):
        raise CheckFailed(f"{fetch.label} reports no build_id: cannot tell which build is serving",
                          cause=fetch.key, kind="missing")
    if record_fact is not None:
        record_fact(build_id=body.get("build_id"), config_hash=body.get("config_hash"))
    return body
