"""Runbook 000 §5.5: the Postgres port is not published on a public address."""

from __future__ import annotations

import pytest

from releasegate.core.profile import require_section
from releasegate.net.exposure import expect_not_reachable, ports_to_probe
from releasegate.postgres.session import endpoint_of

pytestmark = pytest.mark.data


@pytest.mark.runbook("000", "§5.5", "the Postgres port is not reachable on the public host names")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §5.5: never expose the Postgres port publicly — keep the DB service on the internal "
                    "network only (Coolify/Traefik), remove the host port mapping or firewall it to "
                    "allowlisted IPs; ops and backup access through VPN or an SSH tunnel")
def test_postgres_port_not_public(target, evidence):
    cfg = require_section(target, "database.exposure")
    default_port = int(endpoint_of(target.section("database")["dsn"]).rsplit(":", 1)[-1] or 5432)
    expect_not_reachable(evidence, "Postgres", cfg["public_hosts"],
                         ports_to_probe(cfg, default_port), float(cfg.get("timeout_s", 2)))
