"""003 §4.2: the deploy is settled — Argo CD reports the application Synced and Healthy — before
the window starts.

Argo CD's REST API (argoproj/argo-cd assets/swagger.json, 3.6.0): ``GET /api/v1/applications/
{name}`` (ApplicationService_Get, optional ``?project=``) answers a v1alpha1Application whose
``status.sync.status`` is Synced | OutOfSync | Unknown, ``status.health.status`` Healthy |
Progressing | Degraded | Suspended | Missing | Unknown (with ``message``), and
``status.operationState.phase`` Running | Terminating | Failed | Error | Succeeded. A token goes
as ``Authorization: Bearer`` (docs/developer-guide/api-docs.md). Settled = Synced and Healthy,
no operation running, and ``sync.revision`` the expected one when the profile names it. The
wait is bounded by ``wait`` and each read by the profile's timeouts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from releasegate.core.profile import Target
from releasegate.watch.spec import seconds

RUNNING = frozenset({"Running", "Terminating"})
BROKEN_HEALTH = frozenset({"Degraded", "Missing"})
BROKEN_OPERATION = frozenset({"Failed", "Error"})


@dataclass
class Settle:
    """What the wait saw last, and whether the application settled."""

    settled: bool = False
    broken: bool = False  # Degraded / Missing or a failed sync: not a matter of waiting longer
    refused: bool = False  # 401 / 403 / 404: the token, the project or the name is wrong
    polls: int = 0
    waited_s: float = 0.0
    sync: str = "?"
    health: str = "?"
    revision: str = ""
    phase: str = ""
    message: str = ""
    error: str = ""
    history: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        state = f"sync {self.sync}, health {self.health}"
        if self.revision:
            state += f", revision {self.revision[:12]}"
        if self.phase:
            state += f", operation {self.phase}"
        if self.message:
            state += f": {self.message}"
        if self.error:
            state += f" ({self.error})"
        return state


def read_status(app: Any, settle: Settle, want_revision: str | None) -> None:
    status = app.get("status") if isinstance(app, Mapping) else None
    if not isinstance(status, Mapping):
        settle.error = "the answer has no status: not a v1alpha1Application"
        return
    sync, health = status.get("sync") or {}, status.get("health") or {}
    op = status.get("operationState") or {}
    settle.sync, settle.health = str(sync.get("status", "?")), str(health.get("status", "?"))
    settle.revision, settle.phase = str(sync.get("revision") or ""), str(op.get("phase") or "")
    settle.message = str(health.get("message") or op.get("message") or "")[:300]
    settle.error = ""
    revision_ok = not want_revision or settle.revision == want_revision
    settle.settled = (settle.sync == "Synced" and settle.health == "Healthy"
                      and settle.phase not in RUNNING and revision_ok)
    settle.broken = settle.health in BROKEN_HEALTH or (
        settle.phase in BROKEN_OPERATION and settle.phase != "")
    if not revision_ok and settle.sync == "Synced":
        settle.message = f"synced to {settle.revision[:12]}, expected {want_revision}"


def wait_settled(target: Target, cfg: Mapping[str, Any], *,
                 log: Callable[[str], None] = lambda _: None,
                 sleep: Callable[[float], None] = time.sleep) -> Settle:
    """Poll the application until it settles, breaks (Degraded, failed sync) or time runs out."""
    from releasegate.http.client import HttpTarget

    argo = cfg["argocd"]
    headers = {"Authorization": f"Bearer {argo['token']}"} if argo.get("token") else None
    http = HttpTarget(str(argo["server"]), timeouts=target.timeouts, body_limit=target.body_limit,
                      headers=headers)
    path = f"/api/v1/applications/{quote(str(argo['application']), safe='')}"
    if argo.get("project"):
        path += f"?project={quote(str(argo['project']), safe='')}"
    wait_s, poll_s = seconds(argo.get("wait", "10m")), seconds(argo.get("poll", "10s"))
    settle = Settle()
    started = time.monotonic()
    try:
        while True:
            settle.polls += 1
            fetch = http.fetch(path)
            if fetch.status == 200:
                try:
                    read_status(fetch.json(), settle, argo.get("revision") or None)
                except AssertionError as exc:  # Fetch.json's CheckFailed: not JSON
                    settle.error = str(exc)
            else:
                settle.error = f"GET {path}: " + (fetch.error or "no answer" if fetch.status is None
                                                  else f"answered {fetch.status_text()}")
                if fetch.status in (401, 403, 404):  # no token, wrong project, no such app
                    settle.refused = True
            settle.history.append(settle.summary)
            settle.waited_s = round(time.monotonic() - started, 3)
            log(f"Argo CD {argo['application']}: {settle.summary}")
            if settle.settled or settle.broken or settle.refused or settle.waited_s + poll_s > wait_s:
                return settle
            sleep(poll_s)
    finally:
        http.close()
