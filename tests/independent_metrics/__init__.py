"""A service instrumented the way another team would: prometheus-fastapi-instrumentator.

Kept apart from the reference stack (releasegate/reference) so it cannot share its
assumptions: its own metric and label names (``handler``, status codes grouped as ``2xx``), its
own alerting rules, its own faults. The profile maps its names (metrics.prometheus).
"""
