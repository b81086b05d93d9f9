"""Postgres (000 §2, §5, §6.3): a read-only session safe behind PgBouncer (session.py), the role's
write privileges from the catalogs (privileges.py), and the per-check view (view.py)."""
