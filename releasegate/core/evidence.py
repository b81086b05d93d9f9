"""What a check saw, kept per check and attached to its result after redaction.

Every exchange with the target — an HTTP request, a SQL query, a Redis command, an MCP call —
is recorded as one ``Exchange``: the request in one line, what came back, how long it took,
an excerpt, and a command that reproduces it. The report shows them under the check; the
root-cause analysis (releasegate/gate/causes.py) groups failures by the exchanges they share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from releasegate.core.redact import Redactor

EXCERPT_CHARS = 400


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most ``limit`` characters, cut at a word boundary and marked with … when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind(","), cut.rfind("\n"))
    if space > limit * 0.6:
        cut = cut[:space + 1]
    return cut.rstrip() + "…"


def jsonable(value: Any) -> Any:
    """``value`` with datetimes, dates, Decimals, bytes and sets turned into JSON types."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


@dataclass
class Exchange:
    """One request to the target and what it gave, ready for the report (already redacted)."""

    request: str  # one line: "GET https://h/healthz/ready", "SQL SELECT count(*) …", "redis PING"
    host: str = ""  # "host:port" it went to: failures sharing an unreachable host are one cause
    status: int | str | None = None  # HTTP status, "ok", an error code; None when nothing answered
    latency_ms: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # the response headers that matter
    excerpt: str = ""  # the body, rows or reply, cut at a word boundary
    error: str | None = None  # why there was no answer
    unreachable: bool = False  # nothing answered at the host at all (refused, DNS, connect timeout)
    reproduce: str = ""  # a shell command doing the same request, ${VAR} values as "$VAR"

    @property
    def key(self) -> str:
        """What identifies this answer: the same request with the same outcome."""
        return f"{self.request} → {self.error or self.status}"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", {}, False)}


class _HasExchange(Protocol):
    """An answer that can describe itself as an Exchange (http.client.Fetch, an MCP reply)."""

    def exchange(self, redactor: Redactor) -> Exchange: ...


_Answer = TypeVar("_Answer", bound=_HasExchange)


class Evidence:
    """Collects exchanges and named observations for one check."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self.exchanges: list[Exchange] = []
        self.observed: dict[str, Any] = {}

    def http(self, fetch: _Answer) -> _Answer:
        """Record one HTTP exchange (redacted now, so nothing secret is held for the report)."""
        self.exchange(fetch.exchange(self._redactor))
        return fetch

    def exchange(self, exchange: Exchange) -> Exchange:
        """Record any exchange; text fields are masked here, whoever built it."""
        r = self._redactor
        clean = Exchange(
            request=r.text(exchange.request), host=exchange.host, status=exchange.status,
            latency_ms=exchange.latency_ms, headers=r.headers(dict(exchange.headers)),
            excerpt=r.text(exchange.excerpt), error=r.text(exchange.error) if exchange.error else None,
            unreachable=exchange.unreachable, reproduce=r.text(exchange.reproduce))
        if clean not in self.exchanges:
            self.exchanges.append(clean)
        return clean

    def command(self, argv: Sequence[str]) -> str:
        """A reproduce command for an exchange: ${VAR} values as "$VAR", other secrets masked."""
        return self._redactor.shell(argv)

    def note(self, **values: Any) -> None:
        """Record what a check compared: expected and actual values, counts, windows.

        Values that JSON cannot hold (a datetime or Decimal from a database row) become text or
        numbers here, so every report writer can store them.
        """
        self.observed.update(self._redactor.value(jsonable(values)))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.exchanges:
            out["requests"] = [e.as_dict() for e in self.exchanges]
        if self.observed:
            out["observed"] = self.observed
        return out
