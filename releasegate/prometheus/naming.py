"""The service's metric and label names for the runbook's, from the profile (metrics.prometheus).

The built-in triggers are written in runbook 004's names (``http_requests_total`` with labels
``method``, ``endpoint``, ``status``). A service instrumented by a library names things its own
way — prometheus-fastapi-instrumentator labels the route ``handler`` and, by default, groups
status codes into ``2xx`` … ``5xx``. The profile maps them::

    metrics:
      prometheus:
        names: {http_request_duration_seconds: http_request_duration_highr_seconds}
        labels: {endpoint: handler}
        status_codes: grouped          # the status label holds "2xx" … "5xx"

and every built-in template, selector and required metric is rewritten before it is judged.
Without the mapping a grouped status label would silently never match ``status=~"5.."``; the
triggers that read status codes require a series whose status has the expected shape, so an
unmapped service fails naming it instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from releasegate.prometheus.builtin import Trigger

HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
_CODE = r'(?P<label>\b{label})\s*(?P<op>=~|!~|!=|=)\s*"(?P<class>[1-5])(?:\.\.|[0-9][0-9])"'
STATUS_SHAPE = '"[1-5][0-9][0-9]"'  # what a status label holding HTTP codes matches
GROUPED_SHAPE = '"[1-5]xx"'
_STRING = re.compile(r'("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`)')


@dataclass(frozen=True)
class Naming:
    names: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    grouped_status: bool = False

    @classmethod
    def from_profile(cls, cfg: Mapping[str, Any] | None) -> Naming:
        cfg = cfg or {}
        return cls(dict(cfg.get("names") or {}), dict(cfg.get("labels") or {}),
                   cfg.get("status_codes") == "grouped")

    @property
    def identity(self) -> bool:
        return not (self.names or self.labels or self.grouped_status)

    def promql(self, text: str) -> str:
        """``text`` with the runbook's metric and label names replaced by the service's."""
        if self.identity or not text:
            return text
        parts = _STRING.split(text)  # names are renamed outside string literals only
        for i in range(0, len(parts), 2):
            parts[i] = self._names(parts[i])
        text = "".join(parts)
        if self.grouped_status:
            status = self.labels.get("status", "status")
            text = text.replace(f"{status}=~{STATUS_SHAPE}", f"{status}=~{GROUPED_SHAPE}")
            pattern = re.compile(_CODE.format(label=re.escape(status)))
            text = pattern.sub(lambda m: f'{m["label"]}{"=" if m["op"] == "=~" else m["op"]}"{m["class"]}xx"',
                               text)
        return text

    def _names(self, code: str) -> str:
        for old in sorted(self.names, key=len, reverse=True):
            new = self.names[old]
            code = re.sub(rf"(?<![\w:]){re.escape(old)}(?P<suffix>{'|'.join(HISTOGRAM_SUFFIXES)})?(?![\w:])",
                          lambda m, new=new: new + (m.group("suffix") or ""), code)
        for old, new in self.labels.items():
            code = re.sub(rf"(?<![\w:]){re.escape(old)}(?=\s*(?:=~|!~|!=|=|,|\)))", new, code)
        return code

    def trigger(self, trigger: Trigger) -> Trigger:
        """A built-in trigger in the service's names (templates, selectors, required metrics)."""
        if self.identity:
            return trigger
        return replace(
            trigger, value=self.promql(trigger.value), selector=self.promql(trigger.selector),
            samples=self.promql(trigger.samples) if trigger.samples else None,
            trend=self.promql(trigger.trend) if trigger.trend else None,
            counted_by=self.promql(trigger.counted_by) if trigger.counted_by else None,
            metrics=tuple(self.promql(m) for m in trigger.metrics))

    def family(self, family: Mapping[str, Any]) -> dict[str, Any]:
        """A /metrics family declaration (004 Metrics to Track) in the service's names."""
        out = dict(family)
        out["name"] = self.names.get(family["name"], family["name"])
        if "labels" in family:
            out["labels"] = [self.labels.get(label, label) for label in family["labels"]]
        if family.get("counted_by"):
            out["counted_by"] = self.names.get(family["counted_by"], family["counted_by"])
        return out
