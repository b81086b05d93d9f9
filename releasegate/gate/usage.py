"""Usage errors as one line naming the mistake and the fix, exiting 64 (not pytest's 4 or argparse's
2, which a CI job would read as the verdicts INVESTIGATE and ROLLBACK)."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

import pytest

from releasegate.gate.exitcodes import EXIT_UNUSABLE
from releasegate.gate.outputs import write_no_verdict
from releasegate.gate.results import AREAS
from releasegate.gate.run import say


def exit_64_on_usage_errors(parser: pytest.Parser) -> None:
    """With --verdict-exit-codes, pytest's own usage errors (unknown option, missing value) exit
    64 with one line instead of pytest's 4, which would read as the verdict INVESTIGATE.

    pytest parses the command line before any hook can see the error, so the parser's two
    parse methods are wrapped on this Parser instance; without --verdict-exit-codes nothing
    changes.
    """
    for name in ("parse", "parse_known_args"):
        original = getattr(parser, name, None)
        if original is None or getattr(original, "_releasegate", False):
            continue

        def wrapped(args: Any, *a: Any, _original: Any = original, **kw: Any) -> Any:
            try:
                return _original(args, *a, **kw)
            except pytest.UsageError as exc:
                strargs = [os.fspath(x) for x in args]
                if "--verdict-exit-codes" not in strargs:
                    raise
                reason = usage_reason(str(exc))
                say(reason)
                write_no_verdict(Path(arg_value(strargs, "--report-dir") or "reports"),
                                 target=None, reason=reason, exit_code=EXIT_UNUSABLE)
                raise SystemExit(EXIT_UNUSABLE) from None

        wrapped._releasegate = True  # type: ignore[attr-defined]
        setattr(parser, name, wrapped)


def arg_value(args: list[str], option: str) -> str | None:
    for i, arg in enumerate(args):
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
        if arg == option and i + 1 < len(args) and not args[i + 1].startswith("-"):
            return args[i + 1]
    return None


def usage_reason(message: str, known_markers: list[str] | None = None) -> str:
    """One line naming the mistake and the fix, from pytest's or argparse's message."""
    text = " ".join(message.split())
    if " error: " in text:  # argparse: "usage: … prog: error: what" and then ini/rootdir lines
        text = text.split(" error: ", 1)[1]
    text = re.split(r" (?:inifile|rootdir|configfile): ", text)[0]
    unknown_marker = re.match(r"Unknown marker\(s\) in '-m' expression: ([^.]+)\.", text)
    if unknown_marker:
        names = [n.strip() for n in unknown_marker.group(1).split(",")]
        known = known_markers or ["smoke", *AREAS]
        hints = [f"did you mean {close[0]!r}?" for n in names
                 if (close := difflib.get_close_matches(n, known, n=1))]
        return (f"-m names unknown marker{'s' if len(names) > 1 else ''} "
                f"{', '.join(map(repr, names))}" + (f" ({' '.join(hints)})" if hints else "")
                + f"; markers: {', '.join(m for m in known if m in AREAS or m == 'smoke')}")
    if text.startswith("unrecognized arguments:"):
        return f"unknown option {text.split(':', 1)[1].strip()} (see releasegate run --help)"
    if text.startswith("file or directory not found:"):
        path = text.split(":", 1)[1].strip()
        return f"path not found: {path} (give a suites/ file or folder that exists, or none for all)"
    if "expected one argument" in text:
        return f"{text} (give the option its value, e.g. --report-dir reports)"
    return text
