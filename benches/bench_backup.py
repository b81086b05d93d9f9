"""Restore rehearsal beside its floor: releasegate's fresh-dump rehearsal (pg_dump --snapshot,
throwaway server, pg_restore -j2, catalog comparison, row counts and content fingerprints of
every table) against the bare tools doing the same dump and restore (`pg_dump -Fc` then
`pg_restore -j2 --no-owner --no-acl` into an already running server) and a count per table, on
the same database, in one run — at three sizes, to show that the time grows linearly (issue 20:
at most 1.3x at 1 GB, seconds per GB within 15 %, peak memory of releasegate's own process
independent of table size, <= 150 MB at 1 GB).

The rehearsal runs in a child process so its peak RSS (ru_maxrss) is releasegate's alone: the
seeding and the floor's tools are not in it.

    .venv/bin/python benches/bench_backup.py            # ~1 GB, 0.5 GB, 0.25 GB (a few minutes)
    .venv/bin/python benches/bench_backup.py --quick    # 50 / 25 / 12 MB, to try it out

Writes benches/results/backup.json and prints a table. The machine's load average is recorded
beside every number: on a shared machine, read the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from releasegate.backup.rehearsal import Options, rehearse_fresh  # noqa: E402
from releasegate.backup.runner import libpq_env  # noqa: E402
from releasegate.backup.tools import PgTools  # noqa: E402
from releasegate.reference.backup import create_fixture  # noqa: E402
from releasegate.servers.local import LocalProvider  # noqa: E402

BYTES_PER_ROW = 1.06e3  # the fixture's database bytes per `rows` unit (925,639 rows made 938 MiB)
TARGET_RATIO = 1.3  # issue 20 (fingerprints); issue 10's was 1.15 without them
MAX_RSS_MB = 150


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def floor(dsn: str, target: LocalProvider, tools: PgTools, workdir: Path, n: int) -> dict:
    """The bare tools: pg_dump -Fc, then createdb and pg_restore -j2 on a running server."""
    dump = workdir / f"floor-{n}.dump"
    started = time.perf_counter()
    subprocess.run([tools.pg_dump, "-Fc", "-f", str(dump)], env=libpq_env(dsn), check=True)
    dumped = time.perf_counter()
    with target.postgres() as server:
        ready = time.perf_counter()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE restored")
        subprocess.run([tools.pg_restore, "--no-owner", "--no-acl", "--exit-on-error", "-j2",
                        "-d", "restored", str(dump)], env=libpq_env(server.dsn("restored")),
                       check=True)
        with psycopg.connect(server.dsn("restored"), autocommit=True) as conn:  # 001 §6.3 step 3
            tables = conn.execute(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n"
                " ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN "
                "('pg_catalog', 'information_schema', 'pg_toast')").fetchall()
            for (table,) in tables:
                conn.execute(f"SELECT count(*) FROM ONLY {table}").fetchone()
        restored = time.perf_counter()
    size = dump.stat().st_size
    dump.unlink()
    return {"dump_s": round(dumped - started, 2), "restore_s": round(restored - ready, 2),
            "total_s": round((dumped - started) + (restored - ready), 2), "dump_bytes": size}


def rehearsal(dsn: str, provider: LocalProvider, workdir: Path) -> dict:
    """releasegate: dump in a snapshot while counting and fingerprinting, throwaway server,
    restore, compare (catalog, counts, fingerprints)."""
    started = time.perf_counter()
    result = rehearse_fresh(dsn, Options(provider=provider, jobs=2, workdir=workdir,
                                         progress=lambda line: print("   ", line, flush=True)))
    total = time.perf_counter() - started
    assert result.restored and result.catalog["ok"] and result.counts["ok"], result.as_dict()
    assert result.counts["fingerprinted_tables"] == result.counts["compared_tables"]
    return {"total_s": round(total, 2), "dump_s": result.dump["duration_s"],
            "source_read_s": result.source.get("read_s"),
            "restore_s": result.restore["duration_s"], "server_start_s": result.server["start_s"],
            "compare_s": result.counts.get("compare_s"),
            "dump_bytes": result.dump["size_bytes"],
            "compared_tables": result.counts["compared_tables"],
            "fingerprinted_tables": result.counts["fingerprinted_tables"],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def rehearsal_in_child(dsn: str, workdir: Path) -> dict:
    """The rehearsal in its own interpreter: ru_maxrss is then releasegate's alone."""
    out = subprocess.run([sys.executable, __file__, "--child", dsn, str(workdir)],
                         stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the bench")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, per size")
    parser.add_argument("--sizes", type=int, nargs="+", metavar="MB",
                        help="database sizes in MB (default 1024 512 256)")
    parser.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "backup.json")
    parser.add_argument("--child", nargs=2, metavar=("DSN", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(rehearsal(args.child[0], LocalProvider(), Path(args.child[1]))))
        return 0
    sizes_mb = args.sizes or ([50, 25, 12] if args.quick else [1024, 512, 256])
    provider = LocalProvider()
    rows_out = []
    with provider.postgres() as source, tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp:
        workdir = Path(tmp)
        tools = PgTools.for_server(int(provider.pg_version().split(".")[0]))
        with psycopg.connect(source.dsn(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET max_wal_size = '4GB'")
            conn.execute("SELECT pg_reload_conf()")
        for size_mb in sizes_mb:
            rows = int(size_mb * 1024 * 1024 / BYTES_PER_ROW)
            print(f"== {size_mb} MB: seeding {rows} rows", flush=True)
            seeded = time.perf_counter()
            dsn = create_fixture(source, rows, dbname=f"bench_{size_mb}")
            with psycopg.connect(dsn) as conn:
                db_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            print(f"   {db_bytes / 1048576:.0f} MB in {time.perf_counter() - seeded:.0f}s", flush=True)
            floors, ours = [], []
            for n in range(args.repeat):  # alternate, so drift in load hits both alike
                floors.append({**floor(dsn, provider, tools, workdir, n), "load": load()})
                print(f"   floor      {floors[-1]}", flush=True)
                ours.append({**rehearsal_in_child(dsn, workdir), "load": load()})
                print(f"   releasegate {ours[-1]}", flush=True)
            floor_s = statistics.median(f["total_s"] for f in floors)
            ours_s = statistics.median(o["total_s"] for o in ours)
            rows_out.append({"size_mb": size_mb, "database_bytes": db_bytes, "rows_param": rows,
                             "floor": floors, "releasegate": ours,
                             "floor_s": floor_s, "releasegate_s": ours_s,
                             "ratio": round(ours_s / floor_s, 3)})
            with psycopg.connect(source.dsn(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "bench_{size_mb}"')
    largest = max(rows_out, key=lambda r: r["database_bytes"])
    per_gb = [r["releasegate_s"] / (r["database_bytes"] / 2**30) for r in rows_out]
    report = {
        "bench": "backup restore rehearsal with content fingerprints vs pg_dump -Fc + "
                 "pg_restore -j2 --no-owner --no-acl + a count per table",
        "overlap": "the source's catalog, counts and fingerprints are read in the dump's own "
                   "snapshot while pg_dump runs (a second connection); the replica is counted "
                   "and fingerprinted in one pass per table after the restore",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "postgres": provider.pg_version(), "load_at_end": load(),
                    "note": "load_at_end and each run's load are recorded: read the ratio, not the seconds"},
        "target_ratio": TARGET_RATIO, "ratio_at_largest": largest["ratio"],
        "seconds_per_gb": [round(x, 1) for x in per_gb],
        "seconds_per_gb_spread": round(max(per_gb) / min(per_gb) - 1, 3),
        "peak_rss_mb": {r["size_mb"]: max(o["peak_rss_mb"] for o in r["releasegate"])
                        for r in rows_out},
        "max_rss_mb": MAX_RSS_MB,
        "sizes": rows_out,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n{'size':>8} {'db MB':>8} {'floor s':>8} {'rg s':>8} {'ratio':>6} {'s/GB':>6}  load")
    for row, gb in zip(rows_out, per_gb, strict=True):
        print(f"{row['size_mb']:>6}MB {row['database_bytes'] / 1048576:>8.0f} {row['floor_s']:>8.1f} "
              f"{row['releasegate_s']:>8.1f} {row['ratio']:>6.2f} {gb:>6.1f}  "
              f"{row['releasegate'][-1]['load']}")
    verdict = "within" if largest["ratio"] <= TARGET_RATIO else "OVER"
    print(f"ratio at the largest size: {largest['ratio']:.2f} ({verdict} the {TARGET_RATIO}x target)"
          f"; seconds per GB spread {report['seconds_per_gb_spread']:.1%} (target 15 %); "
          f"peak RSS {report['peak_rss_mb']} MB (target <= {MAX_RSS_MB}); results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
