"""Reading one sample of an observation: an MCP tool's field, SQL, PromQL, a run_summary field,
or a watched check's measurement.

Each reader keeps its connection for the whole window (one MCP session, one Postgres connection,
one pooled HTTP client) and reopens it after a failure, so a source that stops answering costs
one timeout per cycle, not a dead source for the rest of the window. A reader returns a number,
None for "no data" (an empty vector, no rows, no run_summary line: Inconclusive), or raises
SampleError (the sample could not be taken: Argo's Error).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from releasegate.core.profile import Target
from releasegate.watch.spec import Observation

# check name → its measurements this cycle (None: the check's sample could not be taken)
Measures = Mapping[str, Mapping[str, float | None] | None]


class SampleError(Exception):
    """The sample could not be taken; the message is the one-line reason."""


def field_of(data: Any, path: str, where: Mapping[str, Any] | None = None) -> Any:
    """``jobs.0.completed_ratio`` → data['jobs'][0]['completed_ratio']; ``jobs.*.completed`` →
    the list of every job's ``completed`` (summed by ``number``), keeping only the items whose
    fields match ``where`` ({status_code: [429, 500, 503]}); SampleError when a key is absent."""
    node: Any = data
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part == "*" and isinstance(node, list):
            items = [item for item in node if _matches(item, where)]
            rest = ".".join(parts[i + 1:])
            return [field_of(item, rest) if rest else item for item in items]
        if isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            raise SampleError(f"the answer has no {path} (stopped at {part!r})")
    return node


def _matches(item: Any, where: Mapping[str, Any] | None) -> bool:
    if not where:
        return True
    return isinstance(item, Mapping) and all(
        item.get(k) in (v if isinstance(v, list) else [v]) for k, v in where.items())


def number(value: Any, what: str) -> float | None:
    """A sample from a field: a number, the sum of a wildcard's numbers (none: 0), or None."""
    if isinstance(value, list):
        found = [number(v, what) for v in value]
        return sum(v for v in found if v is not None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SampleError(f"{what} is {type(value).__name__}, not a number")
    try:
        out = float(value)
    except ValueError:
        raise SampleError(f"{what} is {str(value)[:40]!r}, not a number") from None
    return None if math.isnan(out) else out


class Sources:
    """The window's open connections; ``read(observation, checks)`` takes one sample."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._open: dict[str, Any] = {}

    def _get(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._open:
            self._open[key] = make()
        return self._open[key]

    def _drop(self, key: str) -> None:
        thing = self._open.pop(key, None)
        close = getattr(thing, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()

    def close(self) -> None:
        for key in list(self._open):
            self._drop(key)

    def read(self, obs: Observation, measurements: Measures) -> float | None:
        reader = getattr(self, f"_{obs.kind}")
        return reader(obs.source, measurements) if obs.kind == "check" else reader(obs.source)

    # --- each source ----------------------------------------------------------------------------

    def _sql(self, src: Mapping[str, Any]) -> float | None:
        from releasegate.postgres.view import session_for

        if self.target.section("database") is None:
            raise SampleError("no database section in the profile")
        session = self._get("sql", lambda: session_for(self.target))
        # Only the first row is a sample: asking for one row keeps a query over a big table from
        # sending it all (one round trip, where a server-side cursor takes three), and a second
        # statement after a ';' cannot hide inside the parentheses.
        query = f"SELECT * FROM ({src['query'].strip().rstrip(';')}\n) AS releasegate_watch LIMIT 1"
        result = session.query(query, cache=False)
        if not result.ok:
            self._drop("sql")
            raise SampleError(f"SQL: {result.error}")
        return number(result.first(), "the first column")

    def _promql(self, src: Mapping[str, Any]) -> float | None:
        from releasegate.core.errors import CheckFailed
        from releasegate.http.client import HttpTarget
        from releasegate.prometheus.api import PrometheusAPI

        cfg = self.target.section("metrics.prometheus")
        if cfg is None:
            raise SampleError("no metrics.prometheus section in the profile")
        http = self._get("prometheus", lambda: HttpTarget(
            str(cfg["base_url"]), timeouts=self.target.timeouts, body_limit=self.target.body_limit,
            headers=cfg.get("headers"), verify=cfg.get("ca_bundle") or cfg.get("verify_tls", True)))
        try:  # a new API object per sample: it stops asking a server that went silent in a run
            answer = PrometheusAPI(http).query(src["query"])
        except CheckFailed as exc:
            raise SampleError(str(exc)) from None
        values = [v for v in answer.numbers if not math.isnan(v)]
        return sum(values) if values else None

    def _mcp(self, src: Mapping[str, Any]) -> float | None:
        from releasegate.mcp.config import McpConfig
        from releasegate.mcp.engine import McpEndpoint

        section = self.target.section("mcp")
        if section is None:
            raise SampleError("no mcp section in the profile")
        config = McpConfig.from_section(section)
        why = config.forbidden(src["tool"])
        if why:
            raise SampleError(why)
        endpoint = self._get("mcp", lambda: McpEndpoint(config, self.target, self.target.redactor()))
        client = endpoint.handshake().primary
        if client is None:
            self._drop("mcp")
            raise SampleError("MCP: no session could be opened")
        reply = client.call_tool(src["tool"], src.get("arguments") or {})
        if reply.problem or reply.error or not isinstance(reply.result, Mapping):
            self._drop("mcp")  # a lost session: a new handshake next cycle
            raise SampleError(f"{reply.label} answered {reply.describe()}")
        result = reply.result
        if result.get("isError"):
            raise SampleError(f"{reply.label}: the tool reported an error")
        data = result.get("structuredContent")
        if data is None:
            texts = [c.get("text") for c in result.get("content") or () if isinstance(c, Mapping)]
            try:
                data = json.loads(texts[0]) if texts else None
            except (TypeError, ValueError):
                raise SampleError(f"{reply.label}: the first text content is not JSON") from None
        return number(field_of(data, src["field"], src.get("where")), src["field"])

    def _log(self, src: Mapping[str, Any]) -> float | None:
        """The newest valid run_summary line (of the tenant) in the log's tail: lines are read
        from the end and only those naming run_summary are parsed and validated, so a cycle
        costs one line's validation, not the whole tail's."""
        from releasegate.core.schema_check import validator_for
        from releasegate.logs import run_summary
        from releasegate.logs.source import LogUnreadable, read

        cfg = self.target.section("rollback.logs") or self.target.section("metrics.logs")
        if cfg is None:
            raise SampleError("no rollback.logs (or metrics.logs) section in the profile")
        try:
            sample = read(cfg)
        except LogUnreadable as exc:
            raise SampleError(str(exc)) from None
        tenant = src.get("tenant") or (self.target.section("rollback.run_summary") or {}).get("tenant_id")
        validator = validator_for(run_summary.SCHEMA)
        for line in reversed(sample.lines):
            if "run_summary" not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, Mapping) or record.get("event") != "run_summary" or \
                    (tenant and str(record.get("tenant_id")) != tenant) or not validator.is_valid(record):
                continue
            derived = run_summary.derive(record)
            field = src["field"]
            return number(derived[field] if field in derived else field_of(record, field), field)
        return None  # no valid run_summary line (of the tenant) in the tail: no data

    @staticmethod
    def _check(src: Mapping[str, Any], measurements: Measures) -> float | None:
        name, measure = src["name"], src.get("measure", "value")
        if name not in measurements:
            raise SampleError(f"check {name} was not watched this cycle (select it with -m)")
        taken = measurements[name]
        if taken is None:
            raise SampleError(f"check {name} could not be taken this cycle")
        return taken.get(measure)
