"""What a data check uses: the run's read-only session, recording each query as evidence.

``PgSession`` (releasegate/postgres/session.py) talks to the database once per query and caches the answer;
``DataView`` is the per-check side: it records the exchange (SQL, rows, latency, a psql command
that reproduces it) and turns a query error into this check's one-line failure. It also holds
the rules of declared assertions (the profile's ``database.assertions``), kept free of any
database so they are unit-tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Evidence, Exchange, excerpt
from releasegate.core.profile import Target, require_section
from releasegate.postgres.session import PgLimits, PgSession, QueryResult, one_line

EXCERPT_ROWS = 5


def session_for(target: Target) -> PgSession:
    """The run's session from the profile's database section (N/A when there is none)."""
    __tracebackhide__ = True
    cfg = require_section(target, "database")
    limits = PgLimits(connect_s=float(cfg.get("connect_timeout_s", 3)),
                      statement_s=float(cfg.get("statement_timeout_s", 5)),
                      lock_s=float(cfg.get("lock_timeout_s", 1)))
    return PgSession(str(cfg["dsn"]), limits)


def show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def rows_excerpt(result: QueryResult, limit: int = EXCERPT_ROWS) -> str:
    """The first rows as 'col=value, …' lines, and how many there were."""
    lines = [", ".join(f"{c}={show(v)}" for c, v in zip(result.columns, row, strict=False))
             for row in result.rows[:limit]]
    more = len(result.rows) - limit
    count = f"{len(result.rows)}{'+' if result.truncated else ''} row{'s' if len(result.rows) != 1 else ''}"
    tail = [f"… {more} more"] if more > 0 else []
    return excerpt("\n".join([count, *lines, *tail]))


class DataView:
    """The session as one check sees it: every query it judged becomes its evidence."""

    def __init__(self, session: PgSession, evidence: Evidence) -> None:
        self.session = session
        self.evidence = evidence

    def exchange(self, result: QueryResult) -> Exchange:
        sql = one_line(result.rendered or result.sql)
        return self.evidence.exchange(Exchange(
            request=f"SQL {sql}", host=self.session.host,
            status=("ok" if result.ok else (result.sqlstate or "error")) if not result.unreachable else None,
            latency_ms=result.latency_ms, excerpt=rows_excerpt(result) if result.ok else "",
            error=result.error, unreachable=result.unreachable,
            reproduce=self.evidence.command(["psql", self.session.dsn, "-c", "BEGIN READ ONLY",
                                             "-c", sql, "-c", "ROLLBACK"])))

    def query(self, sql: str, params: Any = None, *, what: str = "query",
              cursor_name: str | None = None) -> QueryResult:
        """The answer to ``sql``; a query error fails this check with the database's message."""
        __tracebackhide__ = True
        result = self.session.query(sql, params, cursor_name=cursor_name)
        ex = self.exchange(result)
        if not result.ok:  # a declared write never gets here: profile_checks refuses it at load
            raise CheckFailed(f"{what} failed: {result.error}", cause=ex.key)
        return result


# --- declared assertions ------------------------------------------------------------------------


def as_utc(value: Any) -> datetime | None:
    """A timestamp column's value as an aware datetime (a date is its midnight UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=timezone.utc)
    return None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def evaluate(expect: Mapping[str, Any], result: QueryResult, now: datetime) -> list[str]:
    """Every expectation of a declared assertion that ``result`` breaks, one phrase each.

    ``now`` is the database's clock (ages are judged on it). The value read by equals / at_least
    / at_most / max_age_s is ``column`` of the first row (max_age_s: the newest over all rows).
    """
    broken: list[str] = []
    count = len(result.rows)
    shown_count = f"{count}{'+' if result.truncated else ''}"
    if "min_rows" in expect and count < expect["min_rows"]:
        broken.append(f"{shown_count} rows, expected at least {expect['min_rows']}")
    if "max_rows" in expect and (count > expect["max_rows"] or result.truncated):
        broken.append(f"{shown_count} rows, expected at most {expect['max_rows']}")
    if expect.get("no_rows") and count:
        first = ", ".join(f"{c}={show(v)}" for c, v in zip(result.columns, result.rows[0], strict=False))
        broken.append(f"{shown_count} rows, expected none (first: {first})")
    value_keys = [k for k in ("equals", "at_least", "at_most", "max_age_s") if k in expect]
    if not value_keys:
        return broken
    column = expect.get("column") or (result.columns[0] if result.columns else None)
    if column not in result.columns:
        columns = ", ".join(result.columns) or "none"
        return [*broken, f"no column {column!r} in the result (columns: {columns})"]
    index = result.columns.index(column)
    if not result.rows:
        return [*broken, f"no rows, so no value of {column} to compare"]
    value = result.rows[0][index]
    if "equals" in expect and not _equal(value, expect["equals"]):
        broken.append(f"{column} is {show(value)}, expected {show(expect['equals'])}")
    for key, word, worse in (("at_least", "at least", lambda v, b: v < b),
                             ("at_most", "at most", lambda v, b: v > b)):
        if key in expect:
            number = as_number(value)
            if number is None:
                broken.append(f"{column} is {show(value)}, not a number to compare with {expect[key]}")
            elif worse(number, float(expect[key])):
                broken.append(f"{column} is {show(value)}, expected {word} {show(expect[key])}")
    if "max_age_s" in expect:
        stamps = [as_utc(row[index]) for row in result.rows]
        if any(s is None and row[index] is not None for s, row in zip(stamps, result.rows, strict=False)):
            broken.append(f"{column} is not a timestamp ({show(value)})")
        else:
            present = [s for s in stamps if s is not None]
            if not present:
                broken.append(f"{column} is empty (NULL): nothing was ever recorded")
            else:
                age = (now - max(present)).total_seconds()
                if age > float(expect["max_age_s"]):
                    broken.append(f"{column} = {show(max(present))} is {human_age(age)} old, "
                                  f"expected at most {human_age(float(expect['max_age_s']))}")
    return broken


def _equal(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or expected is None or isinstance(value, bool):
        return bool(value == expected)
    number, wanted = as_number(value), as_number(expected)
    if number is not None and wanted is not None and not isinstance(expected, str):
        return number == wanted
    return str(value) == str(expected)


def human_age(seconds: float) -> str:
    """3725 -> '1h 2m'; 50 -> '50s'; 200000 -> '2d 7h'."""
    seconds = max(0, round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s" if secs and minutes < 10 else f"{minutes}m"
    return f"{secs}s"
