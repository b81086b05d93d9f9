"""API versioning (001 §6.4, 004): /api/v1 status sets, the legacy decision, Deprecation/Sunset."""
