"""Prometheus (002 §6, 004): the HTTP API (api.py), rollback triggers with Argo-style outcomes
(triggers.py), the exposition-format reader for /metrics (exposition.py) and the trigger view."""
