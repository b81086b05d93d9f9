"""Findings into a strict, commented starting profile: YAML the profile schema accepts.

Secrets are never written: headers given with ``${VARS}`` stay references; nothing the target
answered that changes between deploys is kept (build_id, config_hash, timestamps, counters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import yaml

from releasegate.init.probe import Findings


def _section(name: str, data: Any, comment: str) -> str:
    dumped = yaml.safe_dump({name: data}, sort_keys=False, allow_unicode=True, width=100)
    return f"# {comment}\n{dumped}"


def sections(found: Findings, headers: Mapping[str, str]) -> dict[str, Any]:
    """The profile as data (what render() writes, without its comments)."""
    host = urlsplit(found.base_url).hostname or "service"
    profile: dict[str, Any] = {"name": re.sub(r"[^a-z0-9-]+", "-", host.lower()).strip("-") or "service"}
    if found.environment:
        profile["environment"] = found.environment
    base = {"base_url": found.base_url, **({"headers": dict(headers)} if headers else {})}
    if found.probes or found.release_checks is not None or found.legacy:
        health: dict[str, Any] = {**base}
        if found.probes:
            health["probes"] = {kind: {"path": path} for kind, path in found.probes.items()}
        if found.legacy:
            health["legacy"] = {"path": "/healthz", "expect": "supported"}
        if found.release_checks is not None:
            checks = {"required_checks": found.release_checks} if found.release_checks else {}
            health["release"] = {"path": "/health/ready", **checks}
        profile["health"] = health
    if found.mcp:
        mcp = found.mcp
        profile["mcp"] = {"url": mcp["url"], "revision": "auto", "stateful": mcp["stateful"],
                          **({"headers": dict(headers)} if headers else {}), "read_only": True,
                          "allow_tools": mcp["read_only"], "required_tools": mcp["tools"]}
    if found.openapi_path or found.get_paths:
        endpoints = {name: {"path": path, **({"allowed_status": [status]} if status != 200 else {})}
                     for name, (path, status) in found.get_paths.items() if status < 500}
        profile["versioning"] = {**base, **({"endpoints": endpoints} if endpoints else {}),
                                 "openapi": {"path": found.openapi_path, "required": True}}
    if found.metrics is not None:
        profile["metrics"] = {"endpoint": {"base_url": found.base_url, "path": "/metrics"},
                              **({"families": found.metrics} if found.metrics else {})}
    return profile


def render(found: Findings, headers: Mapping[str, str], urls: list[str]) -> str:
    profile = sections(found, headers)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# Written by `releasegate init {' '.join(urls)}` on {now}, from what the target",
           "# answered (GET, MCP initialize and tools/list only). Review the TODOs below, then run",
           "#   releasegate run --target THIS_FILE -m smoke",
           "# Credentials are ${VARS} (never a value init saw); build_id, config_hash and other",
           "# values that change between deploys are left out. docs/profile.md has every key.", ""]
    top = {k: v for k, v in profile.items() if k in ("name", "environment")}
    out.append(yaml.safe_dump(top, sort_keys=False).rstrip())
    comments = {"health": "health probes found (001 §6.1, 004; /health/ready: 002 §2.1)",
                "mcp": "the MCP endpoint: tools listed, read-only ones allowed (000 §1.4)",
                "versioning": "GET paths the OpenAPI document lists, with the status each answered",
                "metrics": "the /metrics families exported (004 Prometheus Integration)"}
    for name, comment in comments.items():
        if name in profile:
            out.append("")
            out.append(_section(name, profile[name], comment).rstrip())
    if found.streams:
        out += ["", "# TODO read_api.streams: the OpenAPI document lists event streams at "
                + ", ".join(found.streams) + " — add them under read_api with their event names"]
    for todo in found.todo:
        out.append(f"# TODO {todo}")
    return "\n".join(out) + "\n"
