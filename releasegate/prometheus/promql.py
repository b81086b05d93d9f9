"""The metric names a PromQL expression reads, found without a PromQL parser.

Used where an expression comes from outside releasegate (a loaded alerting rule): every metric
it reads must have series, or the rule can never fire — an absent metric is not a quiet one.
Label matchers, ranges, grouping clauses, strings, functions and keywords are not metric names.
"""

from __future__ import annotations

import re

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_INSIDE = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
            "group_right", "inf", "nan", "atan2", "start", "end"}


def selected_metrics(expr: str) -> tuple[str, ...]:
    """The metrics ``expr`` selects, in order: 'a / b{x="y"} > 0.8' → ('a', 'b')."""
    bare = _GROUPING.sub(" ", _INSIDE.sub(" ", _STRING.sub('""', expr)))
    names = (n for n in _NAME.findall(bare) if n.lower() not in KEYWORDS)
    return tuple(dict.fromkeys(names))
