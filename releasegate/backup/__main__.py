"""Backup helpers from the command line.

    python -m releasegate.backup dump -o backups/backup_$(date +%Y%m%d_%H%M%S).dump
        pg_dump -Fc of $DATABASE_URL with its row counts, content fingerprints and catalog
        recorded beside it (<file>.counts.json), both from one snapshot: the backup job's line,
        so that the rehearsal of this file can compare rows and values exactly.
    python -m releasegate.backup rehearse [--keep-dumps DIR]
        dump $DATABASE_URL now, restore it into a throwaway server, compare (catalog, row counts
        and content fingerprints); prints the result. --keep-dumps keeps the dump.

The source is read from the environment variable named by --dsn-env (default DATABASE_URL), so
no password is ever on a command line. Extra arguments after -- go to pg_dump.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from releasegate.backup.rehearsal import Options, record_dump, rehearse_fresh
from releasegate.core.errors import ReleasegateError, ServerUnavailable
from releasegate.servers import get_provider


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m releasegate.backup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn-env", default="DATABASE_URL",
                        help="environment variable holding the source's libpq URL")
    sub = parser.add_subparsers(dest="command", required=True)
    dump = sub.add_parser("dump", help="dump with counts recorded beside it")
    dump.add_argument("-o", "--output", required=True, type=Path)
    dump.add_argument("-F", "--format", default="c", choices=["c", "p", "d", "t"])
    rehearse = sub.add_parser("rehearse", help="fresh dump, throwaway restore, compare")
    rehearse.add_argument("-j", "--jobs", type=int, default=2)
    rehearse.add_argument("--provider", choices=["auto", "local", "docker"], default="auto")
    rehearse.add_argument("--keep-dumps", type=Path, metavar="DIR",
                          help="keep the fresh dump in DIR (deleted with its temp dir otherwise)")
    args, pg_dump_args = parser.parse_known_args(argv)
    pg_dump_args = [a for a in pg_dump_args if a != "--"]
    dsn = os.environ.get(args.dsn_env)
    if not dsn:
        parser.error(f"${args.dsn_env} is not set: export {args.dsn_env}=postgresql://…")
    try:
        if args.command == "dump":
            recorded = record_dump(dsn, args.output, Options(dump_args=pg_dump_args),
                                   dump_format=args.format)
            print(f"{args.output}: {len(recorded['tables'])} tables, "
                  f"{sum(recorded['tables'].values())} rows recorded")
            return 0
        provider = get_provider(None if args.provider == "auto" else args.provider)
        result = rehearse_fresh(dsn, Options(provider=provider, jobs=args.jobs,
                                             dump_args=pg_dump_args, keep_dumps=args.keep_dumps))
        shown = {k: v for k, v in result.as_dict().items()
                 if k in ("error", "dump", "server", "restore", "counts")}
        shown["dump"] = {k: v for k, v in shown["dump"].items() if k != "argv"}  # holds the DSN
        print(json.dumps(shown, indent=1, default=str))
        ok = result.restored and (result.catalog or {}).get("ok") and (result.counts or {}).get("ok")
        return 0 if ok else 1
    except ReleasegateError as exc:
        print(f"releasegate: {exc}", file=sys.stderr)
        return 69 if isinstance(exc, ServerUnavailable) else 1


if __name__ == "__main__":
    sys.exit(main())
