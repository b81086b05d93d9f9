"""What a check saw, kept per check and attached to its result after redaction."""

from __future__ import annotations

from typing import Any

from releasegate.http import Fetch
from releasegate.redact import Redactor


class Evidence:
    """Collects requests and named observations for one check."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self.requests: list[dict[str, Any]] = []
        self.observed: dict[str, Any] = {}

    def http(self, fetch: Fetch) -> Fetch:
        """Record one exchange (redacted now, so nothing secret is ever held for the report)."""
        record = fetch.evidence(self._redactor)
        if record not in self.requests:
            self.requests.append(record)
        return fetch

    def note(self, **values: Any) -> None:
        """Record what a check compared: expected and actual values, counts, windows."""
        self.observed.update(self._redactor.value(values))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.requests:
            out["requests"] = self.requests
        if self.observed:
            out["observed"] = self.observed
        return out
