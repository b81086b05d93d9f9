"""Sentry (001 §6.2): the DSN is well-formed; a tagged test event sent through sentry-sdk shows
up in Sentry's web API with the right environment, a stack trace and its context.

The event is sent by a private sentry-sdk Client (no global init, no integrations: the run's
own logging and excepthook stay untouched) and flushed with a bounded timeout. The web API is
then polled — "Retrieve an Event for a Project",
`GET /api/0/projects/{org}/{project}/events/{event_id}/` with a Bearer token — for at most the
profile's wait (runbook: within 2 minutes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from releasegate.core.extras import require

if TYPE_CHECKING:
    from sentry_sdk.utils import Dsn

FLUSH_TIMEOUT_S = 10.0


def parse_dsn(dsn: str) -> tuple[Dsn | None, str | None]:
    """The parsed DSN, or one line saying what is wrong with it (never the DSN itself); N/A
    without sentry-sdk (``releasegate[sentry]``), whose parser this is."""
    require("sentry", "the Sentry checks (001 §6.2)", "sentry_sdk")
    from sentry_sdk.utils import BadDsn, Dsn

    if not dsn or not dsn.strip():
        return None, "the DSN is empty"
    try:
        parsed = Dsn(dsn.strip())
    except BadDsn as exc:
        return None, f"the DSN is malformed: {exc}"
    if parsed.scheme not in ("http", "https"):
        return None, f"the DSN's scheme is {parsed.scheme!r}, expected https"
    return parsed, None


def envelope_url(dsn: Dsn) -> str:
    """Where sentry-sdk posts events for this DSN."""
    return f"{dsn.scheme}://{dsn.netloc}{dsn.path}api/{dsn.project_id}/envelope/"


@dataclass
class SentEvent:
    event_id: str | None
    sdk_warnings: list[str] = field(default_factory=list)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:200])


@contextmanager
def _sdk_warnings() -> Iterator[list[str]]:
    """What sentry-sdk logs while sending (a refused envelope shows up only there)."""
    logger = logging.getLogger("sentry_sdk.errors")
    handler = _Collect()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def send_test_event(dsn: str, *, environment: str, tags: Mapping[str, str],
                    context: Mapping[str, Any], message: str,
                    flush_timeout_s: float = FLUSH_TIMEOUT_S) -> SentEvent:
    """Raise and capture a ZeroDivisionError (as 001 §6.2 does) with ``tags`` and ``context``;
    sending gives up after ``flush_timeout_s`` (the profile's total timeout)."""
    require("sentry", "the Sentry test event (001 §6.2)", "sentry_sdk")
    import sentry_sdk

    client = sentry_sdk.Client(dsn, environment=environment, default_integrations=False,
                               auto_enabling_integrations=False, integrations=[],
                               shutdown_timeout=flush_timeout_s, send_client_reports=False)
    with _sdk_warnings() as warnings, sentry_sdk.isolation_scope(), sentry_sdk.new_scope() as scope:
        scope.set_client(client)  # this scope only: the process's global Sentry setup is untouched
        for key, value in tags.items():
            scope.set_tag(key, value)
        scope.set_context("releasegate", dict(context))
        try:
            1 / 0  # noqa: B018 - the runbook's own test error
        except ZeroDivisionError as exc:
            exc.add_note(message)
            event_id = scope.capture_exception(exc)
        client.flush(timeout=flush_timeout_s)
        client.close(timeout=flush_timeout_s / 2)
    return SentEvent(event_id, list(warnings))


def tag_value(event: Mapping[str, Any], key: str) -> str | None:
    for tag in event.get("tags") or []:
        if isinstance(tag, Mapping) and tag.get("key") == key:
            return str(tag.get("value"))
        if isinstance(tag, (list, tuple)) and len(tag) == 2 and tag[0] == key:
            return str(tag[1])
    return None


def stack_frames(event: Mapping[str, Any]) -> int:
    """How many stack frames the event's exception entries carry."""
    frames = 0
    for entry in event.get("entries") or []:
        if isinstance(entry, Mapping) and entry.get("type") == "exception":
            for value in (entry.get("data") or {}).get("values") or []:
                frames += len(((value or {}).get("stacktrace") or {}).get("frames") or [])
    return frames


def problems(event: Mapping[str, Any], *, environment: str, run_tag: tuple[str, str]) -> list[str]:
    """What the event lacks of what 001 §6.2 asks: environment tag, stack trace, context."""
    out = []
    seen_env = tag_value(event, "environment")
    if seen_env != environment:
        out.append(f"environment tag is {seen_env!r}, expected {environment!r}")
    if tag_value(event, run_tag[0]) != run_tag[1]:
        out.append(f"tag {run_tag[0]} is {tag_value(event, run_tag[0])!r}, expected {run_tag[1]!r}")
    if stack_frames(event) == 0:
        out.append("no stack trace (no exception entry with frames)")
    contexts = event.get("contexts") or {}
    if not isinstance(contexts, Mapping) or "releasegate" not in contexts:
        out.append("the releasegate context is missing")
    return out
