"""Logs (002 §5.1, 004): log sources read once (source.py), PII scanning (pii.py), run_summary lines
(run_summary.py) and the per-check view."""
