"""Restore rehearsal beside its floor: releasegate's fresh-dump rehearsal (pg_dump --snapshot,
throwaway server, pg_restore -j2, catalog and row-count comparison) against the bare tools doing
the same dump and restore (`pg_dump -Fc` then `pg_restore -j2` into an already running server),
on the same database, in one run — at three sizes, to show that the time grows linearly.

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
TARGET_RATIO = 1.15


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
        restored = time.perf_counter()
    size = dump.stat().st_size
    dump.unlink()
    return {"dump_s": round(dumped - started, 2), "restore_s": round(restored - ready, 2),
            "total_s": round((dumped - started) + (restored - ready), 2), "dump_bytes": size}


def rehearsal(dsn: str, provider: LocalProvider, workdir: Path) -> dict:
    """releasegate: dump in a snapshot while counting, throwaway server, restore, compare."""
    started = time.perf_counter()
    result = rehearse_fresh(dsn, Options(provider=provider, jobs=2, workdir=workdir,
                                         progress=lambda line: print("   ", line, flush=True)))
    total = time.perf_counter() - started
    assert result.restored and result.catalog["ok"] and result.counts["ok"], result.as_dict()
    return {"total_s": round(total, 2), "dump_s": result.dump["duration_s"],
            "restore_s": result.restore["duration_s"], "server_start_s": result.server["start_s"],
            "dump_bytes": result.dump["size_bytes"],
            "compared_tables": result.counts["compared_tables"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the bench")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, per size")
    parser.add_argument("--sizes", type=int, nargs="+", metavar="MB",
                        help="database sizes in MB (default 1024 512 256)")
    parser.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "backup.json")
    args = parser.parse_args()
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
                ours.append({**rehearsal(dsn, provider, workdir), "load": load()})
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
        "bench": "backup restore rehearsal vs pg_dump -Fc + pg_restore -j2",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "postgres": provider.pg_version(), "load_at_end": load(),
                    "note": "load_at_end and each run's load are recorded: read the ratio, not the seconds"},
        "target_ratio": TARGET_RATIO, "ratio_at_largest": largest["ratio"],
        "seconds_per_gb": [round(x, 1) for x in per_gb],
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
          f"; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
