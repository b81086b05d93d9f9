"""Backups that are wrong in ways that keep the counts (issue 20): a plain dump edited in place.

The reference stack's faults (and the tests) change a plain-format dump the way a broken backup
job, a scrubbing step or a bad copy would: one value of one row, one row gone, a sequence's
setval one step back. Only COPY data and setval lines are touched; the file stays a valid dump.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path


def _edit_copy(path: Path, table: str, edit: Callable[[list[str], list[str]], list[str] | None],
               row: int) -> None:
    """Apply ``edit(columns, fields)`` to data row ``row`` (0-based) of ``table``'s COPY block;
    ``edit`` returns the new fields, or None to drop the row."""
    lines = path.read_text(encoding="utf-8").split("\n")
    header = re.compile(rf"^COPY {re.escape(table)} \((.*)\) FROM stdin;$")
    for i, line in enumerate(lines):
        match = header.match(line)
        if match:
            columns = [c.strip().strip('"') for c in match.group(1).split(",")]
            target = i + 1 + row
            if lines[target] == "\\.":
                raise ValueError(f"{table} has fewer than {row + 1} rows in {path.name}")
            changed = edit(columns, lines[target].split("\t"))
            if changed is None:
                del lines[target]
            else:
                lines[target] = "\t".join(changed)
            path.write_text("\n".join(lines), encoding="utf-8")
            return
    raise ValueError(f"no COPY block for {table} in {path.name}")


def change_value(path: Path, table: str, column: str, value: str, row: int = 0) -> None:
    """One row's ``column`` set to ``value`` (COPY text format) — the row count stays."""
    def edit(columns: list[str], fields: list[str]) -> list[str]:
        fields[columns.index(column)] = value
        return fields

    _edit_copy(path, table, edit, row)


def drop_row(path: Path, table: str, row: int = 0) -> None:
    _edit_copy(path, table, lambda _c, _f: None, row)


def sequence_back(path: Path, sequence: str, steps: int = 1) -> None:
    """The dump's setval for ``sequence`` ``steps`` lower than it was."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"(SELECT pg_catalog\.setval\('{re.escape(sequence)}', )(\d+)(, true\);)")
    if not pattern.search(text):
        raise ValueError(f"no setval for {sequence} in {path.name}")
    path.write_text(pattern.sub(lambda m: f"{m.group(1)}{int(m.group(2)) - steps}{m.group(3)}",
                                text), encoding="utf-8")
