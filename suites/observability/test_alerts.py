"""Runbook 004 "Alerting Rules" and 003 "Prometheus Alerts Overview", through Prometheus' API."""

from __future__ import annotations

import pytest

from releasegate.errors import CheckFailed
from releasegate.plugin import target_of

pytestmark = pytest.mark.observability

DEFAULT_RULES = ["HighErrorRate", "HighLatency", "DBConnectionPoolExhausted", "HighCeleryTaskFailureRate"]


def pytest_generate_tests(metafunc):
    """One check per rule of metrics.alert_rules.required (004's four by default)."""
    if "rule_name" in metafunc.fixturenames:
        target = target_of(metafunc.config)
        cfg = (target.section("metrics.alert_rules") if target else None) or {}
        metafunc.parametrize("rule_name", cfg.get("required") or DEFAULT_RULES)


@pytest.mark.runbook("004", "Alerting Rules", "the alerting rule is loaded in Prometheus and healthy")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Alerting Rules: add the rule to the rule file Prometheus loads (rule_files), "
                    "check it with promtool check rules, reload Prometheus; fix its expression if "
                    "health is err")
def test_alert_rule_loaded(prometheus, rule_name, evidence):
    rules, _ = prometheus.rules()
    found = [r for r in rules if r.get("name") == rule_name]
    evidence.note(rule=rule_name, loaded=[{k: r.get(k) for k in ("group", "query", "health", "lastError")}
                                          for r in found], rules_loaded=len(rules))
    if not found:
        raise CheckFailed(f"Prometheus at {prometheus.base_url} has no alerting rule {rule_name} "
                          f"({len(rules)} rules loaded): that alert can never fire")
    broken = [r for r in found if r.get("health") not in ("ok", None)]
    if broken:
        rule = broken[0]
        raise CheckFailed(f"alerting rule {rule_name} (group {rule.get('group')}) is "
                          f"{rule.get('health')}: {str(rule.get('lastError') or 'no error given')[:200]}")


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
    evidence.note(critical=named or "severity=critical", firing=[
        {"alertname": (a.get("labels") or {}).get("alertname"), "severity":
         (a.get("labels") or {}).get("severity"), "value": a.get("value"), "activeAt": a.get("activeAt")}
        for a in firing], pending=sum(1 for a in alerts if a.get("state") == "pending"))
    if hits:
        shown = ", ".join(f"{(a.get('labels') or {}).get('alertname')} (value {a.get('value')}, "
                          f"since {a.get('activeAt')})" for a in hits[:3])
        raise CheckFailed(f"{len(hits)} critical alert(s) firing after the deploy: {shown}")
