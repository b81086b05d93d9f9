"""Prometheus' HTTP API: instant and range queries, metric existence, rules and alerts.

Every call goes through the foundation's HttpTarget (connect/read/total limits, body cap, never
raises); an answer that is not the API's JSON (`{"status": "success", "data": …}`) fails the
check with one line. What was asked is kept as an ``Exchange`` whose reproduce command is the
same call by curl (`curl -G … --data-urlencode 'query=…'`), so the report shows the PromQL as
written, not URL-encoded.

Queries are evaluated at one instant per run (``now``), so a trigger's sample gate and its value
describe the same moment even while Prometheus keeps scraping. Once a call got no complete
answer (refused, timed out), later calls of the run fail at once with the same reason: a dead
Prometheus costs one timeout, not one per trigger.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Exchange, excerpt
from releasegate.http.client import Fetch, HttpTarget

UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_s(text: str) -> float:
    """A PromQL duration ('5m', '1h30m', '500ms') in seconds."""
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * UNITS_S[u] for n, u in parts)


@dataclass
class Series:
    labels: dict[str, str]
    value: float = math.nan  # instant queries
    values: list[tuple[float, float]] = field(default_factory=list)  # range queries

    def describe(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()) if k != "__name__")
        return "{" + inner + "}" if inner else "{}"


@dataclass
class Answer:
    """One API call and what it gave."""

    exchange: Exchange
    fetch: Fetch
    data: Any = None
    series: list[Series] = field(default_factory=list)
    result_type: str = ""

    @property
    def numbers(self) -> list[float]:
        return [s.value for s in self.series]


def _number(text: Any) -> float:
    return float(text)  # "NaN", "+Inf" and "-Inf" are what Prometheus writes; float() reads them


class PrometheusAPI:
    """One Prometheus server; rules, alerts and existence lookups fetched once per run."""

    def __init__(self, http: HttpTarget, *, now: float | None = None,
                 command: Callable[[list[str]], str] = " ".join) -> None:
        self.http = http
        self.now = time.time() if now is None else now
        self._command = command  # turns a curl argv into the report's reproduce command
        self._cache: dict[Any, Any] = {}
        self._recorders: list[list[Exchange]] = []
        self._down: Fetch | None = None  # the first exchange that got no complete answer

    @contextmanager
    def recording(self) -> Iterator[list[Exchange]]:
        """Collect every exchange made (or served from the cache) inside the block, for evidence."""
        seen: list[Exchange] = []
        self._recorders.append(seen)
        try:
            yield seen
        finally:
            self._recorders.remove(seen)

    def _seen(self, answer: Answer) -> None:
        for recorder in self._recorders:
            recorder.append(answer.exchange)

    @property
    def base_url(self) -> str:
        return self.http.base_url

    def _get(self, path: str, params: list[tuple[str, str]], request: str) -> Answer:
        url_path = f"{path}?{urlencode(params)}" if params else path
        if self._down is not None:  # no HTTP answer before: fail at once, not after every timeout
            fetch = replace(self._down, url=f"{self.base_url}{url_path}", elapsed_s=0.0,
                            error=f"{self._down.error} (not asked again this run)")
        else:
            fetch = self.http.fetch(url_path)
            if (fetch.error and fetch.status is None) or "total timeout" in (fetch.error or ""):
                self._down = fetch
        curl = ["curl", "-sS", "-G"]
        for name, value in fetch.request_headers.items():
            curl += ["-H", f"{name}: {value}"]
        curl.append(f"{self.base_url}{path}")
        for key, value in params:
            curl += ["--data-urlencode", f"{key}={value}"]
        exchange = Exchange(
            request=request, host=fetch.host, status=fetch.status,
            latency_ms=round(fetch.elapsed_s * 1000, 1),
            excerpt=excerpt(fetch.body.decode("utf-8", "replace")) if fetch.status is not None else "",
            error=fetch.error, unreachable=fetch.unreachable, reproduce=self._command(curl))
        answer = Answer(exchange, fetch)
        self._seen(answer)
        answer.data = self._data(answer, request)
        return answer

    def _data(self, answer: Answer, what: str) -> Any:
        """The ``data`` of a successful API answer, or fail naming what went wrong."""
        __tracebackhide__ = True
        fetch, key = answer.fetch, answer.exchange.key
        if fetch.error:
            raise CheckFailed(f"Prometheus at {self.base_url}: {fetch.error}", cause=key)
        body: Any = None
        if "json" in fetch.headers.get("content-type", ""):
            body = fetch.json()
        if isinstance(body, Mapping) and body.get("status") == "error":
            raise CheckFailed(f"Prometheus rejected {what}: {body.get('errorType', 'error')}: "
                              f"{str(body.get('error', ''))[:300]}", cause=key)
        if fetch.status != 200:
            fetch.expect_status(200, why="Prometheus HTTP API")
        body = fetch.json()
        if not isinstance(body, Mapping) or body.get("status") != "success" or "data" not in body:
            raise CheckFailed(f"Prometheus at {self.base_url} answered {what} without "
                              '{"status": "success", "data": …}: not its HTTP API', cause=key)
        return body["data"]

    def _result(self, answer: Answer, what: str) -> Answer:
        """Read a query result (vector, matrix or scalar) into Series."""
        __tracebackhide__ = True
        data = answer.data
        try:
            answer.result_type = data["resultType"]
            result = data["result"]
            if answer.result_type == "vector":
                answer.series = [Series(dict(r["metric"]), _number(r["value"][1])) for r in result]
            elif answer.result_type == "matrix":
                answer.series = [Series(dict(r["metric"]), values=[(float(t), _number(v))
                                                                   for t, v in r["values"]])
                                 for r in result]
            elif answer.result_type == "scalar":
                answer.series = [Series({}, _number(result[1]))]
            else:
                raise ValueError(f"result type {answer.result_type!r}")
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise CheckFailed(f"Prometheus answered {what} with a result it does not document "
                              f"({type(exc).__name__}: {exc})", cause=answer.exchange.key) from None
        return answer

    def query(self, expr: str, at: float | None = None) -> Answer:
        """An instant query at ``at`` (default: this run's instant)."""
        __tracebackhide__ = True
        when = self.now if at is None else at
        answer = self._get("/api/v1/query", [("query", expr), ("time", f"{when:.3f}")],
                           f"PromQL {expr}")
        return self._result(answer, f"the query {expr!r}")

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> Answer:
        __tracebackhide__ = True
        answer = self._get("/api/v1/query_range",
                           [("query", expr), ("start", f"{start:.3f}"), ("end", f"{end:.3f}"),
                            ("step", f"{step_s:g}")], f"PromQL range {expr}")
        return self._result(answer, f"the range query {expr!r}")

    def metric_exists(self, name: str, selector: str, window: str) -> tuple[bool, Answer]:
        """Whether any series of ``name`` matching ``selector`` has a sample within ``window``.

        A PromQL query, not the label-values API: that one answers per 2-hour block, so a
        metric the release stopped exporting minutes ago would still "exist" there.
        """
        __tracebackhide__ = True
        key = ("exists", name, selector, window)
        if key not in self._cache:
            # ``name`` may carry matchers of its own: 'x{status=~"[1-5].."}' (a label's shape)
            base, _, own = name.partition("{")
            matchers = ",".join(p for p in (own.rstrip("}"), selector) if p)
            expr = f"count(present_over_time({base}{{{matchers}}}[{window}]))"
            answer = self.query(expr)
            self._cache[key] = (bool(answer.series), answer)
        else:
            self._seen(self._cache[key][1])
        return self._cache[key]

    def rules(self) -> tuple[list[dict[str, Any]], Answer]:
        """Every alerting rule Prometheus has loaded (group name added as ``group``)."""
        __tracebackhide__ = True
        if "rules" not in self._cache:
            answer = self._get("/api/v1/rules", [("type", "alert")], "Prometheus alerting rules")
            try:
                rules = [{**rule, "group": group["name"]} for group in answer.data["groups"]
                         for rule in group["rules"]]
            except (KeyError, TypeError) as exc:
                raise CheckFailed(f"Prometheus' /api/v1/rules answer has no groups[].rules[] "
                                  f"({type(exc).__name__}: {exc})", cause=answer.exchange.key) from None
            self._cache["rules"] = (rules, answer)
        else:
            self._seen(self._cache["rules"][1])
        return self._cache["rules"]

    def alerts(self) -> tuple[list[dict[str, Any]], Answer]:
        """Active alerts, pending and firing (the API lists both: read ``state``)."""
        __tracebackhide__ = True
        if "alerts" not in self._cache:
            answer = self._get("/api/v1/alerts", [], "Prometheus active alerts")
            alerts = answer.data.get("alerts") if isinstance(answer.data, Mapping) else None
            if not isinstance(alerts, list):
                raise CheckFailed("Prometheus' /api/v1/alerts answer has no alerts list",
                                  cause=answer.exchange.key)
            self._cache["alerts"] = (alerts, answer)
        else:
            self._seen(self._cache["alerts"][1])
        return self._cache["alerts"]
