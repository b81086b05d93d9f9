"""A plain-format dump applied the way ``pg_restore --no-owner --no-acl`` applies a custom one.

Runbook 004 makes backups with plain ``pg_dump … > db_backup_$DATE.sql``: without --no-owner and
--no-acl such a file names the roles that own objects and hold privileges, and pg_dump carries no
roles (its docs: "pg_dump does not dump roles"), so on a throwaway server every ``ALTER … OWNER
TO`` and ``GRANT`` fails for a backup that restores fine where the roles exist. A custom-format
dump is restored with --no-owner --no-acl; a plain one is fed to psql with the same statements
left out, so both kinds rehearse alike and owners and privileges are compared for neither.

What is left out, exactly as pg_restore would: the ``ALTER … OWNER TO`` statement pg_dump writes
after an object's definition, and every statement of the TOC entries headed ``Type: ACL`` and
``Type: DEFAULT ACL``. COPY data passes untouched. Each left-out line becomes an empty line, so
psql's "psql:<stdin>:N:" line numbers still point into the file. A role named elsewhere (a
policy's ``TO role``) is part of the object and still fails: that restore needs the role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

OWNER = re.compile(rb"^ALTER [A-Z ]+ .+ OWNER TO .+;\r?\n?$")
ENTRY = re.compile(rb"^-- (?:Data for )?Name: .*; Type: ([A-Z ]+);")
ACL_TYPES = (b"ACL", b"DEFAULT ACL")
COPY_START = re.compile(rb"^COPY .+ FROM stdin;\r?\n?$")
BATCH = 1 << 20


@dataclass
class Skipped:
    """How many statements were left out, for the evidence."""

    owner: int = 0
    acl: int = 0

    def describe(self) -> str:
        return (f"plain dump applied as pg_restore --no-owner --no-acl applies a custom one: "
                f"{self.owner} ownership and {self.acl} privilege statement(s) left out "
                "(pg_dump carries no roles)")


def without_owner_and_acl(lines: Iterable[bytes], skipped: Skipped) -> Iterator[bytes]:
    """The dump's lines in batches of about 1 MB, owner and ACL statements blanked."""
    batch: list[bytes] = []
    size = 0
    in_copy = in_acl = False
    previous_blank = False
    for line in lines:
        if in_copy:
            if line.rstrip(b"\r\n") == b"\\.":
                in_copy = False
        elif line.startswith(b"-- "):
            entry = ENTRY.match(line)
            if entry:
                in_acl = entry.group(1).strip() in ACL_TYPES
        elif in_acl and line.strip():
            skipped.acl += line.startswith((b"GRANT ", b"REVOKE ", b"ALTER DEFAULT PRIVILEGES "))
            line = b"\n"
        elif line.startswith(b"ALTER ") and previous_blank and OWNER.match(line):
            skipped.owner += 1
            line = b"\n"
        elif line.startswith(b"COPY ") and COPY_START.match(line):
            in_copy = True
        previous_blank = not line.strip()
        batch.append(line)
        size += len(line)
        if size >= BATCH:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)
