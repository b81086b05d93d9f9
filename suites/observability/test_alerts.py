"""Runbook 004 "Alerting Rules" and 003 "Prometheus Alerts Overview", through Prometheus' API."""

from __future__ import annotations

import pytest

from releasegate.core.defaults import Default, resolve
from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.prometheus.promql import selected_metrics

pytestmark = pytest.mark.observability

DEFAULT_RULES = ["HighErrorRate", "HighLatency", "DBConnectionPoolExhausted", "HighCeleryTaskFailureRate"]
# Not a runbook number: how recent a series of every metric a rule reads must be.
SERIES_WINDOW = Default("metrics.alert_rules.series_window", "15m",
                        "releasegate default: 004's longest rule reads 5m and waits for: 10m")


@pytest.mark.runbook("004", "Alerting Rules", "the named alerting rules are loaded in Prometheus, healthy, "
                     "and every metric they read has series")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Alerting Rules: add the rules to the rule file Prometheus loads (rule_files), "
                    "check it with promtool check rules, reload Prometheus; fix an expression whose "
                    "health is err")
def test_alert_rules_loaded(prometheus, target, evidence):
    cfg = target.section("metrics.alert_rules") or {}
    required = cfg.get("required") or DEFAULT_RULES
    window, window_said = resolve(cfg, SERIES_WINDOW)
    selector = (target.section("metrics.prometheus") or {}).get("selector", "")
    rules, _ = prometheus.rules()
    by_name = {r.get("name"): r for r in rules}
    missing = [name for name in required if name not in by_name]
    broken = [f"{name} is {by_name[name].get('health')}: {str(by_name[name].get('lastError') or '?')[:120]}"
              for name in required if name in by_name and by_name[name].get("health") not in ("ok", None)]
    # A rule over a metric with no series never fires: absent is not quiet (issue 17).
    blind = [f"{name} reads {metric}, which has no series matching {{{selector}}} over the last "
             f"{window}: it can never fire"
             for name in required if name in by_name
             for metric in selected_metrics(str(by_name[name].get("query") or ""))
             if not prometheus.metric_exists(metric, selector, window)[0]]
    evidence.note(required=required, loaded={n: {k: by_name[n].get(k) for k in ("group", "health", "query")}
                                             for n in required if n in by_name}, rules_loaded=len(rules),
                  series_window=window_said)
    if missing or broken or blind:
        said = ([f"no alerting rule {', '.join(missing)} ({len(rules)} rules loaded): it can never fire"]
                if missing else []) + broken + blind
        raise CheckFailed(f"Prometheus at {prometheus.base_url}: {'; '.join(said)}")


@pytest.mark.runbook("003", "§1-2", "no critical alert is firing after the deploy")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("003 §2 Alerting: open the alert in Alertmanager, record it, follow its runbook "
                    "(004 Incident Response; 003 Redis Alarm Yönetimi); roll back if the deploy "
                    "caused it (002 §7)")
def test_no_critical_alert_firing(prometheus, target, evidence):
    alerts, _ = prometheus.alerts()
    named = (target.section("metrics.alert_rules") or {}).get("critical")
    firing = [a for a in alerts if a.get("state") == "firing"]

    def critical(alert):
        labels = alert.get("labels") or {}
        return labels.get("alertname") in named if named else labels.get("severity") == "critical"

    hits = [a for a in firing if critical(a)]
    if not hits:
        _require_critical_rules_can_fire(prometheus, target, named)
    evidence.note(critical=named or "severity=critical", firing=[
        {"alertname": (a.get("labels") or {}).get("alertname"), "severity":
         (a.get("labels") or {}).get("severity"), "value": a.get("value"), "activeAt": a.get("activeAt")}
        for a in firing], pending=sum(1 for a in alerts if a.get("state") == "pending"))
    if hits:
        shown = ", ".join(f"{(a.get('labels') or {}).get('alertname')} (value {a.get('value')}, "
                          f"since {a.get('activeAt')})" for a in hits[:3])
        raise CheckFailed(f"{len(hits)} critical alert(s) firing after the deploy: {shown}")


def _require_critical_rules_can_fire(prometheus, target, named) -> None:
    """None firing proves something only if a critical rule is loaded and reads metrics that
    have series; otherwise the quiet is the signal's absence (issue 17): Inconclusive."""
    __tracebackhide__ = True
    rules, _ = prometheus.rules()
    critical = [r for r in rules if (r.get("name") in named if named else
                                     (r.get("labels") or {}).get("severity") == "critical")]
    if not critical:
        wanted = ", ".join(named) if named else "severity=critical"
        raise Inconclusive(f"no critical alerting rule is loaded ({wanted}): none firing says nothing")
    cfg = target.section("metrics.alert_rules") or {}
    window, _ = resolve(cfg, SERIES_WINDOW)
    selector = (target.section("metrics.prometheus") or {}).get("selector", "")
    blind = sorted({f"{r.get('name')} reads {m}" for r in critical
                    for m in selected_metrics(str(r.get("query") or ""))
                    if not prometheus.metric_exists(m, selector, window)[0]})
    if len(blind) and all(any(b.startswith(f"{r.get('name')} ") for b in blind) for r in critical):
        raise Inconclusive(f"every critical rule reads a metric with no series matching {{{selector}}} over "
                           f"the last {window} ({'; '.join(blind)}): they cannot fire, so none firing "
                           "says nothing")
