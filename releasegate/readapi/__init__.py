"""The Read API (000 §3): REST endpoints, SSE streams and access control, engine and per-check view."""
