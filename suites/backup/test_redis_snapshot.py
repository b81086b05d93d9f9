"""Redis snapshot rehearsal (004 "Backup strategy in place" for the cache and queue): an RDB
pulled like a replica would, verified, loaded into a throwaway redis-server and compared."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed

pytestmark = pytest.mark.backup

REMEDY = ("004 Pre-Deployment 'Backup strategy in place': Redis must be snapshot-able — allow SYNC "
          "for the backup user (ACL +sync +psync) or enable RDB persistence (save) and copy "
          "dump.rdb, then check it with redis-check-rdb")


@pytest.mark.runbook("004", "Pre-Deployment", "backup strategy in place: a Redis snapshot can be "
                                              "taken and verifies (redis-check-rdb)")
@pytest.mark.severity("warning")
@pytest.mark.remedy(REMEDY)
def test_redis_snapshot_is_valid(backup):
    result = backup.redis()
    if not result.snapshot.get("ok"):
        raise CheckFailed(f"no Redis snapshot: {result.snapshot.get('error')}")
    if not result.check.get("ok"):
        raise CheckFailed(f"the Redis snapshot does not verify: {result.check.get('line')}")


@pytest.mark.runbook("004", "Pre-Deployment", "backup strategy in place: the Redis snapshot "
                                              "restores the same keys (DBSIZE, types, TTLs)")
@pytest.mark.severity("warning")
@pytest.mark.remedy(REMEDY)
def test_redis_snapshot_restores_same_keys(backup):
    result = backup.redis()
    if not (result.snapshot.get("ok") and result.check.get("ok")):
        raise CheckFailed(f"no verified Redis snapshot to restore: "
                          f"{result.snapshot.get('error') or result.check.get('line')}")
    if not result.loaded.get("ok"):
        raise CheckFailed(f"the snapshot did not load into a throwaway redis-server: "
                          f"{result.loaded.get('error')}")
    wrong = {db: v for db, v in result.keyspace.items() if not v["ok"]}
    if wrong:
        shown = ", ".join(f"{db} {v['restored']} keys restored, {v['live_before']}-"
                          f"{v['live_after']} live" for db, v in wrong.items())
        raise CheckFailed(f"the restored snapshot has other key counts: {shown}")
    if result.samples.get("mismatch_count"):
        raise CheckFailed(f"{result.samples['mismatch_count']} of {result.samples['compared']} "
                          f"sampled keys differ: {'; '.join(result.samples['mismatches'][:3])}")
