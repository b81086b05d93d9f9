"""`releasegate init URL…`: a commented starting profile from what a live target serves.

Read-only (GET; MCP initialize and tools/list, never a tool call) and without pytest: the
command line drives the discovery in probe.py and the rendering in render.py directly.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from releasegate.core.errors import ProfileError, UsageProblem


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``init`` to the command line's subcommands."""
    init = sub.add_parser("init", help="write a starting profile from a live target (read-only)",
                          description="Probe a live target read-only (GET; MCP initialize and "
                          "tools/list, never a tool call) and write a commented starting profile: "
                          "health probes, /health/ready, the MCP endpoint and its tools, /metrics "
                          "families, the OpenAPI document's GET paths.")
    init.add_argument("urls", nargs="+", metavar="URL",
                      help="the service's base URL, then its MCP endpoint where served elsewhere")
    init.add_argument("-o", "--output", metavar="FILE", help="write the profile here (default: stdout)")
    init.add_argument("--header", action="append", metavar="'NAME: VALUE'",
                      help="a header for every probe, credentials as ${VAR} (written as given)")
    init.set_defaults(func=cmd_init)
    return init


def cmd_init(ns: argparse.Namespace, extra: list[str]) -> int:
    """Write a starting profile from what the live target serves (read-only probes)."""
    # imported on use: `releasegate --help` and the other commands need none of it
    from releasegate.core.profile import expand
    from releasegate.core.redact import is_credential_header
    from releasegate.init.probe import discover
    from releasegate.init.render import render

    written: dict[str, str] = {}
    for header in ns.header or []:
        name, _, value = header.partition(":")
        if not value.strip() or (is_credential_header(name.strip()) and "${" not in value):
            raise UsageProblem(f"--header {name.strip()!r}: give it as 'Name: value' with credentials as "
                               "${VAR} (e.g. 'Authorization: Bearer ${MCP_TOKEN}'): init writes no secret")
        written[name.strip()] = value.strip()
    try:
        sent = expand(written, os.environ, set(), {})
    except ProfileError as exc:
        raise UsageProblem(f"--header: {exc}") from None
    text = render(discover(ns.urls, sent), written, ns.urls)
    if ns.output:
        Path(ns.output).write_text(text, encoding="utf-8")
        sys.stderr.write(f"releasegate: profile written to {ns.output}; review its TODOs, then: "
                         f"releasegate run --target {ns.output} -m smoke\n")
    else:
        sys.stdout.write(text)
    return 0
