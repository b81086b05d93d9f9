"""Runbook 000 §5.5 applied to Redis: it refuses unauthenticated clients and is not public."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.profile import require_section
from releasegate.net.exposure import expect_not_reachable, ports_to_probe
from releasegate.redis.facts import endpoint_of

pytestmark = pytest.mark.redis

REMEDY_EXPOSED = ("000 §5.5: keep the service on the internal network only; remove the host port "
                  "mapping or firewall it to allowlisted IPs; ops access through VPN or an SSH tunnel")


@pytest.mark.runbook("000", "§5.5", "Redis refuses clients that do not authenticate")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §5.5 (security surface): set requirepass or ACL users and give the services "
                    "the password through REDIS_URL; keep Redis on the internal network")
def test_redis_requires_auth(rds, target, evidence):
    if not target.section("redis").get("auth_required", False):
        pytest.skip("redis.auth_required is not true: the instance need not be protected in this target")
    reply = rds.redis.unauthenticated_ping()
    ex = rds.record(reply, auth=False, reproduce=rds.cli("PING", auth=False))
    evidence.note(unauthenticated_ping=reply.error or "PONG")
    if reply.auth_error:
        return  # NOAUTH / "Authentication required": protected
    if reply.ok:
        raise CheckFailed(f"{rds.redis.host} answered PONG to a PING without credentials: anyone who "
                          "reaches it can read and change the cache", cause=ex.key)
    if reply.error and "DENIED" in reply.error:
        raise CheckFailed(f"{rds.redis.host} refused only because of protected mode (DENIED): no "
                          "password is set, so any client on an allowed address gets in", cause=ex.key)
    raise CheckFailed(f"unauthenticated PING to {rds.redis.host} gave no answer to judge: {reply.error}",
                      cause=ex.key)


@pytest.mark.runbook("000", "§5.5", "the Redis port is not reachable on the public host names")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(REMEDY_EXPOSED)
def test_redis_port_not_public(target, evidence):
    cfg = require_section(target, "redis.exposure")
    default_port = int(endpoint_of(target.section("redis")["url"]).rsplit(":", 1)[-1])
    expect_not_reachable(evidence, "Redis", cfg["public_hosts"], ports_to_probe(cfg, default_port),
                         float(cfg.get("timeout_s", 2)))
