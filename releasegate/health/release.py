"""The serving build (002 §2.1): what /health/ready says about build_id and config_hash."""

from __future__ import annotations

import re
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


_BUILD = re.compile(r"^(?:(?P<scheme>[a-z][\w.-]*):)?(?P<id>[^:]+)$", re.I)
_SHA = re.compile(r"^[0-9a-f]{7,64}$", re.I)
MIN_SHA = 7  # git's own shortest abbreviation (core.abbrev default)


def same_build(expected: str | None, reported: str | None) -> bool:
    """Do two build ids name the same build? Equal, or git SHAs where one is a prefix of the
    other (``git:abc1234`` and ``git:abc1234def…``, either way, at least 7 hex digits): a deploy
    pipeline passes the short SHA, a service often reports the full one. A scheme (``git:``)
    given on both sides must agree."""
    if expected is None or reported is None:
        return expected == reported
    a, b = str(expected).strip(), str(reported).strip()
    if a == b:
        return True
    left, right = _BUILD.match(a), _BUILD.match(b)
    if left is None or right is None:
        return False
    schemes = {s.lower() for s in (left["scheme"], right["scheme"]) if s}
    short, long = sorted((left["id"].lower(), right["id"].lower()), key=len)
    return len(schemes) <= 1 and bool(_SHA.match(short) and _SHA.match(long)) \
        and long.startswith(short)
