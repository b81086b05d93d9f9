"""The per-check view of a log source: read the sample once per run, record where and how much."""

from __future__ import annotations

from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target, require_section
from releasegate.logs.source import LogCache, LogSample, LogUnreadable


class LogView:
    def __init__(self, cache: LogCache, target: Target, evidence: Evidence) -> None:
        self.cache = cache
        self.target = target
        self.evidence = evidence

    def sample(self, section: str) -> LogSample:
        """The log sample of ``section`` (a log source), recorded as evidence; N/A when unset."""
        __tracebackhide__ = True
        config = require_section(self.target, section)
        try:
            sample = self.cache.read(config)
        except LogUnreadable as exc:
            self.evidence.exchange(exc.exchange)
            raise
        self.evidence.exchange(sample.exchange)
        self.evidence.note(log=sample.where, lines_read=len(sample.lines))
        return sample
