"""Is a port reachable on a public address? (runbook 000 §5.5: "Postgres portunu public'e açma")

A TCP connect to each public host name the profile lists, with a short timeout. Refused or no
answer in time both mean "not reachable from here" — a firewall that drops packets looks like a
timeout. Only an accepted connection means exposed. Nothing is sent on an accepted connection:
the probe closes it at once, so a scanner-weary Postgres logs no "invalid startup packet".
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.core.evidence import Evidence, Exchange

OPEN, REFUSED, TIMEOUT, UNRESOLVED, UNREACHABLE = "open", "refused", "timeout", "unresolved", "unreachable"


@dataclass(frozen=True)
class PortProbe:
    host: str
    port: int
    outcome: str  # open | refused | timeout | unresolved | unreachable
    latency_ms: float
    detail: str = ""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def probe_port(host: str, port: int, timeout_s: float) -> PortProbe:
    """Try one TCP connect to host:port (every address the name resolves to) within timeout_s."""
    started = time.perf_counter()

    def done(outcome: str, detail: str = "") -> PortProbe:
        return PortProbe(host, port, outcome, round((time.perf_counter() - started) * 1000, 2), detail)

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return done(UNRESOLVED, str(exc.strerror or exc))
    outcome, detail = REFUSED, ""
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(max(0.05, timeout_s - (time.perf_counter() - started)))
            try:
                sock.connect(address)
            except TimeoutError:
                outcome, detail = TIMEOUT, f"no answer within {timeout_s:g}s"
            except ConnectionRefusedError:
                outcome, detail = (outcome if outcome == TIMEOUT else REFUSED), "connection refused"
            except OSError as exc:  # no route, address not available: not reachable either
                outcome, detail = UNREACHABLE, exc.strerror or str(exc)
            else:
                return done(OPEN, f"accepted a TCP connection at {address[0]}")
    return done(outcome, detail)


def ports_to_probe(cfg: Mapping[str, Any], default_port: int) -> list[int]:
    return [int(p) for p in cfg.get("ports", [default_port])]


def expect_not_reachable(evidence: Evidence, service: str, hosts: Sequence[str], ports: Sequence[int],
                         timeout_s: float) -> list[PortProbe]:
    """Probe every host:port; fail the check when one accepts a connection (000 §5.5)."""
    __tracebackhide__ = True
    probes = [probe_port(h, p, timeout_s) for h in hosts for p in ports]
    for probe in probes:
        evidence.exchange(Exchange(
            request=f"TCP connect {probe.address}", host=probe.address, status=probe.outcome,
            latency_ms=probe.latency_ms, excerpt=probe.detail,
            reproduce=evidence.command(["nc", "-vz", "-w", f"{timeout_s:g}", probe.host, str(probe.port)])))
    evidence.note(**{p.address: p.outcome for p in probes})
    exposed = [p for p in probes if p.outcome == OPEN]
    if exposed:
        raise CheckFailed(f"{service} port answers on a public address: "
                          f"{', '.join(p.address for p in exposed)} accepted a TCP connection "
                          "(expected refused or no answer): scanners and brute force can reach it")
    unresolved = [p for p in probes if p.outcome == UNRESOLVED]
    if len(unresolved) == len(probes):
        raise Inconclusive(f"none of the public host names resolves ({', '.join(hosts)}): "
                           "cannot tell whether the port is exposed")
    return probes
