"""The profile's ``mcp`` section, read once into frozen dataclasses with the runbook defaults.

The schema (schemas/profile/mcp.schema.json) has already checked types and keys; this adds the
defaults of runbook 000 §1 (a stateful server at /mcp, read-only, the tools of §1.2) and the
rules that span keys (the allow-list).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

AUTO = "auto"
DEFAULT_ORIGIN = "https://releasegate.invalid"  # a foreign origin: .invalid never resolves (RFC 2606)
DEFAULT_LATENCY_BUDGET_MS = 2000.0
DEFAULT_MODULE_PATH = "/mcp/{module}/health"
DEFAULT_HEALTHY = ("ok", "healthy", "up", "pass")


@dataclass(frozen=True)
class CallSpec:
    """One configured tool call (000 §1.2): which tool, with what, how fast, how much it weighs."""

    id: str
    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    latency_budget_ms: float = DEFAULT_LATENCY_BUDGET_MS
    severity: str = "blocker"
    schema: str | None = None  # schemas/<this>; default mcp/<tool>.json when that file exists


@dataclass(frozen=True)
class PassRule:
    """000 §1.3: PASS when these calls report ok=true and the database call shows a healthy DB."""

    calls: tuple[str, ...]
    database_call: str | None


@dataclass(frozen=True)
class Modules:
    """Runbook 003's module health endpoints, ``/mcp/<module>/health``."""

    base_url: str
    names: tuple[str, ...]
    path: str = DEFAULT_MODULE_PATH
    healthy: tuple[str, ...] = DEFAULT_HEALTHY

    def path_for(self, module: str) -> str:
        return self.path.replace("{module}", module)


@dataclass(frozen=True)
class McpConfig:
    url: str
    revision: str = AUTO
    stateful: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)
    verify: bool | str = True
    origin: str = DEFAULT_ORIGIN
    read_only: bool = True
    allow_tools: frozenset[str] = frozenset()
    required_tools: tuple[str, ...] = ()
    calls: tuple[CallSpec, ...] = ()
    pass_rule: PassRule | None = None
    auth_required: bool = False
    modules: Modules | None = None

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> McpConfig:
        calls = tuple(_call(c) for c in section.get("calls", ()))
        allow = section.get("allow_tools")
        rule = section.get("pass_rule")
        pass_rule = None
        if rule is not None:
            ids = {c.id for c in calls}
            database = rule.get("database_call", "get_database_stats" if "get_database_stats" in ids
                                else None)
            pass_rule = PassRule(tuple(rule["calls"]), database)
        modules = section.get("modules")
        return cls(
            url=section["url"],
            revision=str(section.get("revision", AUTO)),
            stateful=section.get("stateful", True),
            headers=dict(section.get("headers", {})),
            verify=section.get("ca_bundle") or section.get("verify_tls", True),
            origin=section.get("origin", DEFAULT_ORIGIN),
            read_only=section.get("read_only", True),
            allow_tools=frozenset(allow if allow is not None else (c.tool for c in calls)),
            required_tools=tuple(section.get("required_tools", ())),
            calls=calls,
            pass_rule=pass_rule,
            auth_required=bool((section.get("auth") or {}).get("required", False)),
            modules=None if modules is None else Modules(
                base_url=modules.get("base_url") or origin_of(section["url"]),
                names=tuple(modules.get("names", ())),
                path=modules.get("path", DEFAULT_MODULE_PATH),
                healthy=tuple(modules.get("healthy", DEFAULT_HEALTHY))),
        )

    def call(self, call_id: str) -> CallSpec:
        for spec in self.calls:
            if spec.id == call_id:
                return spec
        raise KeyError(call_id)

    def forbidden(self, tool: str) -> str | None:
        """Why releasegate must not call ``tool`` (DESIGN rule 1), or None when it may."""
        if tool in self.allow_tools:
            return None
        allowed = ", ".join(sorted(self.allow_tools)) or "empty"
        return (f"tool {tool!r} is not on mcp.allow_tools ({allowed}): releasegate never calls a "
                "tool the profile does not allow; fix the profile")


def _call(raw: Mapping[str, Any]) -> CallSpec:
    return CallSpec(id=raw.get("id", raw["tool"]), tool=raw["tool"],
                    arguments=dict(raw.get("arguments", {})),
                    latency_budget_ms=float(raw.get("latency_budget_ms", DEFAULT_LATENCY_BUDGET_MS)),
                    severity=raw.get("severity", "blocker"), schema=raw.get("schema"))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
