"""The pilot's guardrails (002 §3) and post-deploy admin endpoints (§4.1), over HTTP.

Submitting a pilot invoice (`POST /full-process?tenant_id=pilot -F file=@invoice.pdf`, §3.1),
reading a job under a tenant, the pilot block of /health/ready (§2.4: enabled, rate_limit),
the kill switch (§3.2: an admin endpoint, or the command the profile names, e.g. `kubectl set env
deployment/api PILOT_ENABLED=false`), feedback-stats and system-health (§4.1 steps 3–5).
Everything that changes the target is only called by checks that run with --allow-mutations.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from releasegate.core.command import run_command
from releasegate.core.evidence import Exchange
from releasegate.core.paths import FIXTURES
from releasegate.http.client import Fetch, HttpTarget

SAMPLE_INVOICE = FIXTURES / "pilot" / "invoice.pdf"
SKIPPED_STATES = frozenset({"skipped", "disabled", "rejected"})
REFUSED_CODES = frozenset({409, 423, 503})  # "not now": what a switched-off pilot may answer
DEFAULTS: dict[str, Any] = {
    "tenant_id": "pilot", "other_tenant": "default",
    "submit": {"path": "/full-process", "field": "file"},
    "job_path": "/jobs/{job_id}", "status_path": "/health/ready",
    "kill_switch": {"path": "/admin/pilot", "settle_s": 10, "poll_s": 0.5},
    "rate_limit": {"max_probe_jobs": 60},
    "feedback_stats": {"path": "/admin/feedback-stats"},
    "system_health": {"path": "/admin/system-health"},
}


def settings(section: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's pilot section over the defaults (one level deep)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.items()}
    for key, value in section.items():
        out[key] = {**out[key], **value} if isinstance(out.get(key), dict) else value
    return out


@dataclass
class Switch:
    """What flipping the kill switch did: an HTTP exchange or a command."""

    ok: bool
    detail: str
    fetch: Fetch | None = None
    exchange: Exchange | None = None


class PilotAPI:
    """One pilot: the API as a tenant sees it, and its admin side."""

    def __init__(self, cfg: Mapping[str, Any], api: HttpTarget, admin: HttpTarget,
                 command: Any = " ".join) -> None:
        self.cfg = cfg
        self.api = api
        self.admin = admin
        self._command = command

    @property
    def tenant(self) -> str:
        return str(self.cfg["tenant_id"])

    def _with_tenant(self, path: str, tenant: str) -> str:
        return f"{path}{'&' if '?' in path else '?'}{urlencode({'tenant_id': tenant})}"

    def invoice(self) -> tuple[str, bytes]:
        path = Path(self.cfg["submit"].get("file") or SAMPLE_INVOICE)
        return path.name, path.read_bytes()

    def submit(self, tenant: str | None = None) -> Fetch:
        """One invoice through the pipeline as ``tenant`` (default: the pilot)."""
        field = self.cfg["submit"].get("field", "file")
        return self.api.fetch(self._with_tenant(self.cfg["submit"]["path"], tenant or self.tenant),
                              method="POST", files={field: self.invoice()})

    def job(self, job_id: str, tenant: str) -> Fetch:
        path = self.cfg["job_path"].replace("{job_id}", quote(job_id, safe=""))
        return self.api.fetch(self._with_tenant(path, tenant))

    def status(self) -> Fetch:
        """The service's readiness answer with its pilot block (002 §2.4)."""
        return self.api.fetch(self.cfg["status_path"])

    def admin_get(self, name: str) -> Fetch:
        return self.admin.fetch(self._with_tenant(self.cfg[name]["path"], self.tenant))

    def set_enabled(self, enabled: bool) -> Switch:
        """Flip PILOT_ENABLED through the admin endpoint or the profile's command."""
        ks = self.cfg["kill_switch"]
        argv = ks.get("on_command" if enabled else "off_command")
        if argv:
            result = run_command([str(a) for a in argv], timeout_s=float(ks.get("timeout_s", 60)),
                                 max_bytes=64 * 1024)
            exchange = Exchange(request="run " + " ".join(map(str, argv)), status=result.returncode,
                                latency_ms=round(result.elapsed_s * 1000, 1), error=result.error,
                                reproduce=self._command([str(a) for a in argv]))
            return Switch(result.ok, result.error or "ok", exchange=exchange)
        fetch = self.admin.fetch(ks["path"], method=ks.get("method", "POST"),
                                 json_body={"enabled": enabled})
        ok = fetch.error is None and fetch.status is not None and 200 <= fetch.status < 300
        return Switch(ok, fetch.error or f"answered {fetch.status_text()}", fetch=fetch)

    def wait_enabled(self, enabled: bool) -> tuple[Fetch, bool | None]:
        """Poll the status until pilot.enabled reads ``enabled`` (bounded by settle_s)."""
        ks = self.cfg["kill_switch"]
        deadline = time.monotonic() + float(ks["settle_s"])
        while True:
            fetch = self.status()
            seen = pilot_block(fetch).get("enabled")
            if seen is enabled or time.monotonic() + float(ks["poll_s"]) > deadline:
                return fetch, seen if isinstance(seen, bool) else None
            time.sleep(float(ks["poll_s"]))


def pilot_block(fetch: Fetch) -> dict[str, Any]:
    """The ``pilot`` object of a readiness answer, or {} when there is none."""
    if fetch.error or "json" not in fetch.headers.get("content-type", ""):
        return {}
    try:
        body = fetch.json()
    except AssertionError:  # CheckFailed: not JSON after all
        return {}
    block = body.get("pilot") if isinstance(body, dict) else None
    return block if isinstance(block, dict) else {}


def job_state(fetch: Fetch) -> str | None:
    """The ``status`` a submission answer reports ('processed', 'queued', 'skipped'…)."""
    if fetch.error or "json" not in fetch.headers.get("content-type", ""):
        return None
    try:
        body = fetch.json()
    except AssertionError:
        return None
    return str(body.get("status")) if isinstance(body, dict) and "status" in body else None


def stopped(fetch: Fetch) -> bool:
    """Did the service refuse to run this pilot job (002 §3.2 "pilot job'ları skip")?"""
    if fetch.status in REFUSED_CODES:
        return True
    return fetch.status is not None and 200 <= fetch.status < 300 and job_state(fetch) in SKIPPED_STATES
