"""004 "PII Policy": structured logs carry no email, company_name, contact_emails, nor e-mail
addresses anywhere. Findings name the line and field and show the value masked, so the report
itself never repeats the personal data it found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol


class NumberedLines(Protocol):
    """A log sample (logs.source.LogSample): its lines with their numbers in the sample."""

    def numbered(self) -> list[tuple[int, str]]: ...

FORBIDDEN_FIELDS = ("email", "company_name", "contact_emails")  # 004: "hash veya id kullan"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Finding:
    line_no: int
    where: str  # "field email" or "value of field contact" or "text"
    masked: str

    def __str__(self) -> str:
        return f"line {self.line_no} {self.where}: {self.masked}"


def mask(value: Any) -> str:
    """'billing@acme-corp.com' -> 'b***@a***.com'; other text -> first letter and ***."""
    text = value if isinstance(value, str) else json.dumps(value)
    found = EMAIL.search(text)
    if found:
        local, _, domain = found.group(0).partition("@")
        tld = domain.rsplit(".", 1)[-1]
        return f"{local[:1]}***@{domain[:1]}***.{tld}"
    return f"{text[:1]}***" if text else "***"


def scrub(line: str, forbidden: Iterable[str] = FORBIDDEN_FIELDS) -> str:
    """The line as evidence may show it: forbidden fields' values and e-mail addresses masked.

    A log line quoted in the report would otherwise repeat the personal data the PII check
    exists to find (004 PII Policy).
    """
    record = structured(line)
    if record is not None:
        return json.dumps(_scrubbed(record, {f.lower() for f in forbidden}), ensure_ascii=False)
    return EMAIL.sub(lambda found: mask(found.group(0)), line)


def structured(line: str) -> dict[str, Any] | list[Any] | None:
    """The JSON object (or array) a structured log line holds; None for plain text."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, (dict, list)) else None


def _scrubbed(node: Any, banned: set[str]) -> Any:
    if isinstance(node, dict):
        return {key: (mask(value) if str(key).lower() in banned and value not in (None, "", [], {})
                      else _scrubbed(value, banned)) for key, value in node.items()}
    if isinstance(node, list):
        return [_scrubbed(value, banned) for value in node]
    if isinstance(node, str):
        return EMAIL.sub(lambda found: mask(found.group(0)), node)
    return node


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            yield sub, value
            yield from _walk(value, sub)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def scan(sample: NumberedLines, forbidden: Iterable[str] = FORBIDDEN_FIELDS,
         emails: bool = True) -> list[Finding]:
    """Forbidden fields (at any depth, any case) and e-mail-shaped values in every line."""
    banned = {f.lower() for f in forbidden}
    findings: list[Finding] = []
    for no, line in sample.numbered():
        record = structured(line)
        if record is not None:
            flagged: set[str] = set()
            for path, value in _walk(record):
                leaf = path.rsplit(".", 1)[-1].split("[", 1)[0].lower()
                if leaf in banned and value not in (None, "", [], {}):
                    findings.append(Finding(no, f"field {path}", mask(value)))
                    flagged.add(path)
                elif emails and isinstance(value, str) and EMAIL.search(value) and not any(
                        path.startswith(f) for f in flagged):
                    findings.append(Finding(no, f"value of field {path}", mask(value)))
        elif emails and EMAIL.search(line):
            findings.append(Finding(no, "text", mask(line)))
    return findings
