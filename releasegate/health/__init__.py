"""Health probes (001 §6.1, 002 §2, 004): the endpoints fetched once per run, the per-check view,
and the serving build (release.py)."""
