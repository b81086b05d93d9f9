"""Masking of secrets in everything releasegate writes: reports, JUnit, summary, terminal.

Two sources of secrets: every value that came from a ``${VAR}`` in the profile, and anything that
looks like a credential by its field name (password, token, Authorization, ...) or its place in a
URL (``scheme://user:password@host``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"

# Field names whose values are credentials wherever they appear (headers, JSON bodies, profiles).
# Matched as whole words of the key (split at -, _, . and camelCase): "db_password", "X-API-Key",
# "authToken" are credentials; "passed", "bypass" and "author" are not.
CREDENTIAL_KEY = re.compile(
    r"password|passwd|secret|credential|apikey|privatekey"  # unmistakable anywhere (PGPASSWORD)
    r"|(?:^|_)(?:pass|token|auth|authorization|cookie|dsn|api_key|private_key|session_?id)(?:$|_)",
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@/\s]+)(?=@)", re.I)
# Values shorter than this are not masked as free text: masking "1" or "ok" everywhere would make
# the report unreadable and protects nothing. Credential-named fields are masked whatever their length.
MIN_SECRET_LENGTH = 4


def is_credential_key(key: str) -> bool:
    """True for field names that hold credentials (see CREDENTIAL_KEY)."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return CREDENTIAL_KEY.search(re.sub(r"[^A-Za-z0-9]+", "_", words).lower()) is not None


class Redactor:
    """Replaces known secret values and credential-looking fields with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (e.g. ones a check learned at run time)."""
        fresh = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        if fresh - self._secrets:
            self._secrets |= fresh
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def text(self, value: str) -> str:
        """Mask secrets and URL passwords inside free text."""
        if not value:
            return value
        if self._pattern is not None:
            value = self._pattern.sub(MASK, value)
        return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, value)

    def value(self, value: Any, key: str | None = None) -> Any:
        """Mask a JSON-like value; a credential-named key masks its whole value."""
        if key is not None and is_credential_key(key) and not (
                value is None or value == "" or isinstance(value, bool)):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: self.value(v, k) for k, v in headers.items()}
