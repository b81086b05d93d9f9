"""The Read API as one check sees it (runbook 000 §3): the shared engine, recording what it judged.

Each check records the exchanges and stream readings it judged as its own evidence, with a curl
command that repeats them; the helpers fail the check with one line naming what was wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Evidence
from releasegate.core.profile import require_section
from releasegate.core.redact import Redactor
from releasegate.core.schema_check import expect_matches_schema
from releasegate.http.client import Fetch
from releasegate.http.sse import Reading
from releasegate.readapi.api import Call, ReadApi
from releasegate.readapi.bodies import items_at
from releasegate.readapi.openapi import OPENAPI


def _no_event(cfg: Mapping[str, Any], reading: Reading) -> dict[str, str]:
    """Kind and remedy when the expected event did not come: other event names are a wrong body
    whose remedy names the expected event; nothing at all leaves the check's own remedy."""
    others = [name for name in reading.names if name != cfg["event"]]
    if not others:
        return {"kind": "missing"}
    sent = ", ".join(repr(n) for n in others[:3])
    return {"kind": "wrong_body", "remedy": (
        f"000 §3.2: {cfg['path']} sends {sent} where consumers listen for event {cfg['event']!r} "
        f"(EventSource addEventListener('{cfg['event']}')): name the event {cfg['event']!r} again "
        "in the publisher, or roll back the release that renamed it")}


class ReadApiView:
    """What one check uses: the shared Read API, recording what the check judged as evidence."""

    def __init__(self, api: ReadApi, evidence: Evidence) -> None:
        self.api = api
        self.evidence = evidence

    def record(self, call: Call) -> Fetch:
        exchange = call.fetch.exchange(Redactor())  # its reproduce is replaced just below
        self.evidence.exchange(dataclasses.replace(exchange, reproduce=self.evidence.command(call.argv)))
        return call.fetch

    def get(self, name: str) -> Fetch:
        __tracebackhide__ = True
        require_section(self.api.target, f"read_api.endpoints.{name}")
        return self.record(self.api.get(name))

    def call(self, path: str, **how: Any) -> Fetch:
        return self.record(self.api.call(path, **how))

    def json_ok(self, name: str) -> Any:
        """An endpoint's body, failing the check unless it answered 200 with JSON."""
        __tracebackhide__ = True
        return self.get(name).expect_status(200).json()

    def items(self, name: str) -> list[Any]:
        """The items of a list endpoint; fails when the body has no list where the profile says."""
        __tracebackhide__ = True
        body = self.json_ok(name)
        where = self.api.endpoint(name)["items"]
        found = items_at(body, where)
        if found is None:
            fetch = self.get(name)
            raise CheckFailed(f"{fetch.label}: no list of items at {where or '(the body)'!r}",
                              cause=fetch.key, kind="missing")
        self.evidence.note(items=len(found))
        return found

    def expect_contract(self, name: str) -> list[str]:
        """Fail unless the endpoint's answer keeps its contracts: the body schema (a file, or the
        service's OpenAPI document) and the item schema on every item. Returns what was judged."""
        __tracebackhide__ = True
        schema, item_schema = self.api.schema_for(name), self.api.item_schema_for(name)
        body = self.json_ok(name)
        fetch = self.get(name)
        judged = []
        if schema == OPENAPI:
            contract = self.api.openapi()
            self.record(self.api.call(self.api.openapi_path))
            problem = contract.problem(fetch)
            if problem:
                raise CheckFailed(f"{fetch.label} {problem}", cause=fetch.key, kind="wrong_body")
            judged.append(f"{self.api.openapi_path} (OpenAPI)")
        elif schema:
            expect_matches_schema(body, schema, f"{fetch.label} body")
            judged.append(f"schemas/{schema}")
        if item_schema:
            for index, item in enumerate(self.items(name)):
                expect_matches_schema(item, item_schema, f"{fetch.label} item {index}")
            judged.append(f"schemas/{item_schema} on each item")
        self.evidence.note(contracts=judged)
        return judged

    def reading(self, name: str, reading: Reading) -> Reading:
        cfg = self.api.stream(name)
        argv = self.api.curl(cfg["path"], stream_s=reading.deadline_s)
        if reading.last_event_id:
            argv[-1:-1] = ["-H", f"Last-Event-ID: {reading.last_event_id}"]
        self.evidence.exchange(reading.exchange(self.evidence.command(argv)))
        return reading

    def first_event(self, name: str) -> Reading:
        __tracebackhide__ = True
        require_section(self.api.target, f"read_api.streams.{name}")
        return self.reading(name, self.api.first_event(name))

    def expected_event(self, name: str) -> Reading:
        """The first reading, failing the check unless the expected event came within within_s."""
        __tracebackhide__ = True
        cfg = self.api.stream(name)
        reading = self.first_event(name)
        problem = reading.answer_problem()
        if problem:
            raise CheckFailed(f"{reading.label} {problem}", cause=reading.key)
        if reading.match is None:
            raise CheckFailed(f"{reading.label}: {reading.failure()} (saw {reading.seen()})",
                              cause=reading.key, **_no_event(cfg, reading))
        self.evidence.note(event=cfg["event"], first_event_after_s=round(reading.match.at_s, 3),
                           within_s=cfg["within_s"])
        return reading
