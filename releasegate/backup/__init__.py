"""Backups: verify the files, rehearse their restore on throwaway servers, compare with the source.

- files: which dumps there are, their format, whether each is whole, retention
- catalog: what a database holds (objects, rows, sequences) and how two compare
- rehearsal: fresh dump or latest backup -> throwaway Postgres -> compare, timed; its parts:
  spec (options and results, plain data), source (the snapshot dumped and counted),
  restore (the throwaway server and the restore), compare (replica against the source)
- redis_snapshot: RDB pulled like a replica, verified, loaded into a throwaway redis-server
- migrations: Alembic current / downgrade -1 / upgrade head on the restored replica
- plan, view: the profile's backup section for the checks in suites/backup/
"""
