"""Root cause first: failures that only follow from another failure say so.

When readiness answers 503, the checks that read the same 503 answer (db status, stability,
the release checks) would each read like a new defect; when nothing on a host answers, every
check fails with "connection refused". This module finds, after the run, the failed check whose
own failure was that wrong answer (its ``CheckFailed.cause``, or the unreachable host), and marks
the other failures that saw the same answer as following from it. It works on the recorded
evidence only, so it needs no knowledge of any area.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from releasegate.gate.results import CheckResult

GATE_RANK = {"readiness": 0, None: 1, "feedback": 2}


@dataclass(frozen=True)
class Unreachable:
    host: str
    why: str


def rank(result: CheckResult, order: int) -> tuple[int, int, int, int]:
    """Which of several failures is the root: readiness blockers, blockers, then warnings; among
    equals a smoke check (the area's "is it up" line, e.g. the database session) before the
    checks that need it up."""
    return (0 if result.meta.severity == "blocker" else 1, GATE_RANK.get(result.meta.gate, 1),
            0 if result.meta.smoke else 1, order)


def unreachable_hosts(results: Iterable[CheckResult]) -> dict[str, Unreachable]:
    """Hosts that every exchange of the run failed to reach at all."""
    seen: dict[str, list[dict]] = {}
    for result in results:
        for exchange in result.exchanges():
            if exchange.get("host"):
                seen.setdefault(exchange["host"], []).append(exchange)
    return {host: Unreachable(host, exchanges[0].get("error", "no answer"))
            for host, exchanges in seen.items()
            if exchanges and all(e.get("unreachable") for e in exchanges)}


def nothing_answered(results: Sequence[CheckResult]) -> list[Unreachable] | None:
    """The unreachable hosts, when no exchange of the run got any answer at all."""
    exchanges = [e for r in results for e in r.exchanges()]
    if not exchanges or not all(e.get("unreachable") for e in exchanges):
        return None
    return list(unreachable_hosts(results).values())


# Why a connection failed on the runner's side rather than at the target: the name did not
# resolve, the runner has no route, a proxy on the way refused. A refused connection or any
# answer is the target's (something at its address said no) and keeps the verdict.
RUNNER_SIDE = re.compile(r"does not resolve|name or service not known|nodename nor servname"
                         r"|name resolution|could not translate host name|getaddrinfo"
                         r"|network is unreachable|network unreachable|no route to host"
                         r"|proxy", re.I)


def runner_cannot_reach(results: Sequence[CheckResult]) -> list[Unreachable] | None:
    """The hosts, when nothing answered and every failed connection failed on the runner's side
    (DNS, routing, proxy): then the run judged nothing about the target (issue 16 §7)."""
    down = nothing_answered(results)
    errors = [e.get("error") or "" for r in results for e in r.exchanges()]
    if not down or not errors or not all(RUNNER_SIDE.search(err) for err in errors):
        return None
    return down


def short(key: str) -> str:
    """'GET http://h:1/healthz/ready → 503' → 'GET /healthz/ready → 503' (the host is elsewhere)."""
    head, arrow, tail = key.partition(" → ")
    method, _, url = head.partition(" ")
    if "://" in url:
        parts = urlsplit(url)
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        head = f"{method} {url}" if method else url
    return f"{head}{arrow}{tail}"


def _key(exchange: dict) -> str:
    """Exchange.key of a recorded exchange."""
    return f"{exchange.get('request', '')} → {exchange.get('error') or exchange.get('status')}"


def link(results: Sequence[CheckResult]) -> None:
    """Set ``follows`` on every failure that follows from another, and prefix its message."""
    failed = [r for r in results if r.failed]
    order = {r.id: i for i, r in enumerate(results)}
    groups: dict[str, list[CheckResult]] = {}  # cause label -> failures that saw it
    roots: dict[str, CheckResult] = {}
    shown: dict[str, str] = {}  # cause label -> the error text it already shows
    down = unreachable_hosts(results)
    for r in failed:
        hosts = {e.get("host") for e in r.exchanges()}
        if hosts and all(h in down for h in hosts):
            host = sorted(hosts)[0]
            label = f"could not reach {host} ({down[host].why})"
            groups.setdefault(label, []).append(r)
            shown[label] = down[host].why
    for label, members in groups.items():
        roots[label] = min(members, key=lambda r: rank(r, order[r.id]))
    grouped = {r.id for members in groups.values() for r in members}
    # a check whose own failure was a wrong answer is a root for that answer
    by_cause: dict[str, list[CheckResult]] = {}
    for r in failed:
        if r.cause and r.id not in grouped:
            by_cause.setdefault(r.cause, []).append(r)
    for cause, owners in by_cause.items():
        label = short(cause)
        root = min(owners, key=lambda r: rank(r, order[r.id]))
        members = [r for r in failed if r.id not in grouped and (
            r.cause == cause or any(_key(e) == cause for e in r.exchanges()))]
        if len(members) > 1:
            groups[label], roots[label] = members, root
            shown[label] = cause.partition(" → ")[2]
    root_ids = {root.id for root in roots.values()}
    for r in failed:
        if r.id in root_ids:
            continue  # a root is shown first, with what follows from it; it follows nothing
        labels = [label for label, members in groups.items() if any(m is r for m in members)]
        if not labels:
            continue
        label = min(labels, key=lambda lbl: rank(roots[lbl], order[roots[lbl].id]))
        r.follows = roots[label].id
        if not r.message.startswith("follows from "):
            rest = without(r.message, shown.get(label, ""))
            r.message = f"follows from {label}: {rest}" if rest else f"follows from {label}"


def without(message: str, repeated: str) -> str:
    """The message less the error its root's label already shows, so one line says it once."""
    if len(repeated) < 12:
        return message
    if message.endswith(repeated):  # "database not usable: <the error>"
        return message[:-len(repeated)].rstrip(" :;,-—")
    if message.startswith(repeated):
        return message[len(repeated):].lstrip(" :;,-—")
    return message  # inside the line: cutting it out would leave a sentence with a hole
