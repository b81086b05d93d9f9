"""releasegate.core.profile: ${VAR} expansion, re-typing, secrets, and one-line errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from releasegate.core.errors import ProfileError
from releasegate.core.profile import load_target
from releasegate.core.redact import is_secret_variable

REPO = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:9"


def write(tmp_path: Path, data: Any, name: str = "target.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def profile_error(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ProfileError) as info:
        load_target(path, env={} if env is None else env)
    message = str(info.value)
    assert "\n" not in message, f"profile errors are one line, got: {message!r}"
    return message


# --- expansion --------------------------------------------------------------------------------


def test_variable_is_expanded_and_recorded_as_secret(tmp_path):
    path = write(tmp_path, {"name": "unit", "health": {
        "base_url": BASE, "headers": {"Authorization": "Bearer ${RG_TOKEN}"}}})
    target = load_target(path, env={"RG_TOKEN": "s3cr3t-token"})
    assert target.data["health"]["headers"]["Authorization"] == "Bearer s3cr3t-token"
    assert target.secrets == frozenset({"s3cr3t-token", "Bearer s3cr3t-token"})


def test_default_is_used_when_unset_and_is_not_a_secret(tmp_path):
    path = write(tmp_path, {"name": "unit", "environment": "${RG_ENV:-staging}",
                            "health": {"base_url": "${RG_URL:-http://127.0.0.1:8000}"}})
    target = load_target(path, env={})
    assert target.environment == "staging"
    assert target.data["health"]["base_url"] == "http://127.0.0.1:8000"
    assert target.secrets == frozenset()


def test_environment_wins_over_default_and_stays_visible(tmp_path):
    """Only credentials are masked: an environment label from a variable is evidence."""
    path = write(tmp_path, {"name": "unit", "environment": "${RG_ENV:-staging}"})
    target = load_target(path, env={"RG_ENV": "production"})
    assert target.environment == "production"
    assert target.secrets == frozenset()


def test_reads_os_environ_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("RG_UNIT_ENVIRONMENT", "prod-eu")
    target = load_target(write(tmp_path, {"name": "unit", "environment": "${RG_UNIT_ENVIRONMENT}"}))
    assert target.environment == "prod-eu"
    assert "prod-eu" not in target.secrets


@pytest.mark.parametrize("name", ["RG_DEPLOY_TOKEN", "PGPASSWORD", "HUNTER_API_KEY", "CLIENT_SECRET",
                                  "RG_PWD", "SENTRY_AUTH_TOKEN"])
def test_a_variable_named_like_a_credential_is_a_secret(tmp_path, name):
    path = write(tmp_path, {"name": "unit", "environment": f"${{{name}}}"})
    assert load_target(path, env={name: "value-1234"}).secrets == frozenset({"value-1234"})


def test_a_variable_listed_under_secrets_is_one(tmp_path):
    """`secrets:` names the variables whose names do not say so (Hurl's --secret)."""
    path = write(tmp_path, {"name": "unit", "secrets": ["RG_HOOK"], "environment": "${RG_ENV}",
                            "meta": {"hook": "${RG_HOOK}"}})
    target = load_target(path, env={"RG_HOOK": "hook-5678", "RG_ENV": "production"})
    assert target.secrets == frozenset({"hook-5678"})
    assert target.redactor().text("production hook-5678") == "production ***"


def test_a_dsn_user_name_is_not_a_secret_but_its_password_is(tmp_path):
    """A DSN user postgres must not turn every word postgres into *** ("initdb/***")."""
    path = write(tmp_path, {"name": "unit", "database": {"dsn": "${RG_DB_URL}"}})
    target = load_target(path, env={"RG_DB_URL": "postgresql://postgres:pw-9876@db:5432/app"})
    assert target.secrets == frozenset({"pw-9876"})
    assert target.redactor().text("initdb/postgres at postgresql://postgres:pw-9876@db:5432/app") \
        == "initdb/postgres at postgresql://postgres:***@db:5432/app"


def test_double_dollar_is_a_literal_dollar(tmp_path):
    path = write(tmp_path, {"name": "unit", "meta": {
        "price": "$$5", "ref": "$${NOT_EXPANDED}", "mixed": "a$$b-${RG_X}"}})
    target = load_target(path, env={"RG_X": "xval"})
    assert target.meta["price"] == "$5"
    assert target.meta["ref"] == "${NOT_EXPANDED}"
    assert target.meta["mixed"] == "a$b-xval"


def test_lone_dollar_is_left_alone(tmp_path):
    target = load_target(write(tmp_path, {"name": "unit", "meta": {"s": "pa$word $HOME"}}), env={})
    assert target.meta["s"] == "pa$word $HOME"


@pytest.mark.parametrize(("where", "raw", "env", "expected"), [
    (("defaults", "timeouts", "total"), "${T}", {"T": "8"}, 8),
    (("defaults", "timeouts", "read"), "${RATIO}", {"RATIO": "2.5"}, 2.5),
    (("health", "verify_tls"), "${FLAG}", {"FLAG": "false"}, False),
    (("defaults", "body_limit_bytes"), "${CAP:-4096}", {}, 4096),
    (("meta", "v"), "${PORT}", {"PORT": "8000"}, "8000"),  # free-form: text stays text
    (("meta", "v"), "port ${PORT}", {"PORT": "8000"}, "port 8000"),  # not a whole reference
    (("health", "headers", "X-API-Key"), "${KEY}", {"KEY": "123456"}, "123456"),  # a numeric secret
])
def test_whole_reference_is_typed_where_the_schema_wants_it(tmp_path, where, raw, env, expected):
    data: dict = {"name": "unit", "health": {"base_url": BASE}}
    node = data
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = raw
    target = load_target(write(tmp_path, data), env=env)
    value = target.section(".".join(where[:-1]))[where[-1]]
    assert value == expected
    assert type(value) is type(expected)


def test_retyped_number_validates_against_a_numeric_field(tmp_path):
    path = write(tmp_path, {"name": "unit", "defaults": {"timeouts": {"total": "${RG_TOTAL}"}}})
    assert load_target(path, env={"RG_TOTAL": "7.5"}).timeouts.total == 7.5


@pytest.mark.parametrize("value", ["@bc:def", "!secret", "`tick", "[unbalanced", "*alias", "%dir"])
def test_yaml_hostile_secret_is_kept_as_text(tmp_path, value):
    """Whole-reference re-typing must not choke on values YAML cannot parse."""
    path = write(tmp_path, {"name": "unit", "health": {
        "base_url": BASE, "headers": {"X-API-Key": "${RG_KEY}"}}})
    target = load_target(path, env={"RG_KEY": value})
    assert target.data["health"]["headers"]["X-API-Key"] == value
    assert value in target.secrets


def test_lists_are_expanded(tmp_path):
    path = write(tmp_path, {"name": "unit", "health": {"base_url": BASE, "release": {
        "required_checks": ["db", "${RG_CHECK}"]}}})
    target = load_target(path, env={"RG_CHECK": "redis"})
    assert target.data["health"]["release"]["required_checks"] == ["db", "redis"]


# --- errors -----------------------------------------------------------------------------------


def test_unset_variable_names_variable_and_key_path(tmp_path):
    path = write(tmp_path, {"name": "unit", "health": {
        "base_url": BASE, "headers": {"Authorization": "Bearer ${RG_UNSET_TOKEN}"}}})
    message = profile_error(path)
    assert "RG_UNSET_TOKEN" in message
    assert "health.headers.Authorization" in message
    assert str(path) in message


def test_unset_variable_inside_a_list_names_the_index(tmp_path):
    path = write(tmp_path, {"name": "unit", "health": {"base_url": BASE, "release": {
        "required_checks": ["db", "${RG_MISSING}"]}}})
    message = profile_error(path)
    assert "health.release.required_checks[1]" in message
    assert "RG_MISSING" in message


def test_unknown_top_level_key_is_named_with_the_allowed_keys(tmp_path):
    message = profile_error(write(tmp_path, {"name": "unit", "helth": {"base_url": BASE}}))
    assert "'helth'" in message
    assert "unknown key" in message
    allowed = re.search(r"\(allowed: ([^)]*)\)", message)
    assert allowed, message
    assert {"health", "name", "database", "redis", "severity"} <= set(allowed.group(1).split(", "))


def test_unknown_nested_key_names_its_path(tmp_path):
    path = write(tmp_path, {"name": "unit", "health": {
        "base_url": BASE, "probes": {"live": {"path": "/healthz/live", "timout_s": 1}}}})
    message = profile_error(path)
    assert "health.probes.live" in message
    assert "'timout_s'" in message
    assert "timeout_s" in message.split("allowed:")[1]


@pytest.mark.parametrize(("data", "key_path"), [
    ({"name": "unit", "defaults": {"timeouts": {"connect": "fast"}}}, "defaults.timeouts.connect"),
    ({"name": "unit", "health": {"base_url": BASE, "verify_tls": "yes please"}}, "health.verify_tls"),
    ({"name": "unit", "health": {"base_url": "ftp://nope"}}, "health.base_url"),
    ({"name": "unit", "severity": {"test_live": "fatal"}}, "severity.test_live"),
    ({"name": ["not", "a", "string"]}, "name"),
])
def test_wrong_type_names_the_key_path(tmp_path, data, key_path):
    message = profile_error(write(tmp_path, data))
    assert f": {key_path}: " in message


def test_missing_required_name(tmp_path):
    message = profile_error(write(tmp_path, {"health": {"base_url": BASE}}))
    assert "'name'" in message


def test_schema_error_does_not_echo_a_secret_value(tmp_path):
    """The offending value may have come from a secret ${VAR}: the one-line error masks it."""
    path = write(tmp_path, {"name": "unit", "health": {"base_url": "${RG_URL_TOKEN}"}})
    message = profile_error(path, env={"RG_URL_TOKEN": "internal-secret-host"})
    assert "health.base_url" in message
    assert "internal-secret-host" not in message


def test_a_url_setting_from_a_variable_keeps_its_host_visible_and_its_credentials_secret(tmp_path):
    path = write(tmp_path, {"name": "unit", "health": {"base_url": "${RG_URL}"}})
    target = load_target(path, env={"RG_URL": "https://ops:pw-1234@api.example.com:8443/v1?token=t0k3n"})
    shown = target.redactor().value(target.data)["health"]["base_url"]
    assert shown == "https://ops:***@api.example.com:8443/v1?token=***"
    assert {"pw-1234", "t0k3n"} <= target.secrets
    assert not any("api.example.com" in secret for secret in target.secrets)


def test_missing_file(tmp_path):
    message = profile_error(tmp_path / "nope.yaml")
    assert "nope.yaml" in message
    assert "does not exist" in message


def test_directory_instead_of_file(tmp_path):
    message = profile_error(tmp_path)
    assert str(tmp_path) in message


@pytest.mark.parametrize(("text", "line"), [
    ("name: unit\nhealth:\n  base_url: [\n", 4),
    ("name: unit\n  bad: indent\n", 2),
    ("name: unit\nmeta:\n  a: 1\n\tb: 2\n", 4),
])
def test_invalid_yaml_reports_the_line(tmp_path, text, line):
    message = profile_error(write(tmp_path, text))
    assert f" line {line}:" in message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path, text):
    message = profile_error(write(tmp_path, text))
    assert "mapping" in message


def test_target_accessors(tmp_path):
    path = write(tmp_path, {"name": "unit", "environment": "staging",
                            "defaults": {"timeouts": {"connect": 1, "read": 2, "total": 3},
                                         "body_limit_bytes": 4096},
                            "severity": {"test_live": "warning"},
                            "health": {"base_url": BASE, "probes": {"live": {"path": "/l"}}}})
    target = load_target(path, env={})
    assert (target.name, target.environment) == ("unit", "staging")
    assert (target.timeouts.connect, target.timeouts.read, target.timeouts.total) == (1, 2, 3)
    assert target.timeouts.capped(1.5).read == 1.5
    assert target.body_limit == 4096
    assert target.severity_overrides == {"test_live": "warning"}
    assert target.section("health.probes.live") == {"path": "/l"}
    assert target.section("health.probes.ready") is None
    assert target.section("mcp") is None


# --- the shipped profiles ---------------------------------------------------------------------

SHIPPED = sorted((REPO / "fixtures" / "targets").glob("*.yaml"))
_REF = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-)?")


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def _value_for(name: str) -> str:
    """A plausible value for a variable a shipped profile needs (URLs must look like URLs)."""
    upper = name.upper()
    if "DATABASE" in upper or "DSN" in upper:
        return "postgresql://unit.example.invalid:5432/app"
    if "URL" in upper or "ENDPOINT" in upper:
        return "https://unit.example.invalid"
    if "PORT" in upper:
        return "5432"
    return f"unit-{name.lower()}-value"



def _required_vars(path: Path) -> set[str]:
    """The ${VAR}s of a profile that have no default."""
    return {m.group(1) for text in _strings(yaml.safe_load(path.read_text()))
            for m in _REF.finditer(text) if not m.group(2)}

@pytest.mark.parametrize("path", SHIPPED or [None], ids=[p.name for p in SHIPPED] or ["none"])
def test_shipped_profile_loads(path, monkeypatch):
    assert path is not None, "fixtures/targets/ has no *.yaml profile to validate"
    needed = _required_vars(path)
    for name in needed:
        monkeypatch.setenv(name, _value_for(name))
    target = load_target(path)
    assert target.name
    for name in needed:
        value = _value_for(name)
        if "://" in value:  # a URL setting shows its host (issue 7 §6)
            assert value not in target.secrets, f"{name} is a URL: its host must stay visible"
        elif is_secret_variable(name):
            assert value in target.secrets, f"{name} should be masked as a secret"
        elif name in ("DEPLOY_ENV", "PREVIOUS_BUILD_ID", "READ_API_BASIC_USER"):
            # a label, build or user name: evidence (issue 16 §5)
            assert value not in target.secrets, f"{name} is not a credential: it stays visible"


@pytest.mark.parametrize("path", SHIPPED or [None], ids=[p.name for p in SHIPPED] or ["none"])
def test_shipped_profile_without_its_variables_names_one(path, monkeypatch):
    assert path is not None, "fixtures/targets/ has no *.yaml profile to validate"
    needed = _required_vars(path)
    for name in needed:
        monkeypatch.delenv(name, raising=False)
    if not needed:  # everything has a default: it loads on a bare environment
        assert load_target(path).secrets == frozenset()
        return
    message = profile_error(path, env={})
    assert any(name in message for name in needed), message


@pytest.mark.parametrize("path", SHIPPED or [None], ids=[p.name for p in SHIPPED] or ["none"])
def test_shipped_severity_overrides_name_real_checks(path):
    assert path is not None, "fixtures/targets/ has no *.yaml profile to validate"
    overrides = (yaml.safe_load(path.read_text()) or {}).get("severity") or {}
    defined = {m.group(1) for f in (REPO / "suites").rglob("test_*.py")
               for m in re.finditer(r"^def (test_\w+)\(", f.read_text(), re.M)}
    named = {key.split("::")[-1].split("[")[0] for key in overrides}  # a name or a node id
    assert named <= defined, f"overrides naming no check: {named - defined}"


def test_literal_credential_headers_are_secrets_in_every_section(tmp_path):
    """A header named like a credential is masked also when the profile writes it literally —
    in messages and in the curl commands that reproduce a request."""
    from releasegate.http.client import Fetch

    path = write(tmp_path, {"name": "unit", "health": {
        "base_url": "https://api.example.com",
        "headers": {"X-Admin-Key": "adm-literal-4711", "Authorization": "Bearer tok-literal-0815",
                    "Accept": "application/json"}}})
    target = load_target(path)
    assert {"adm-literal-4711", "Bearer tok-literal-0815", "tok-literal-0815"} <= target.secrets
    assert "application/json" not in target.secrets
    fetch = Fetch("GET", "https://api.example.com/x", status=200,
                  request_headers=target.data["health"]["headers"], timeout_s=3)
    command = fetch.exchange(target.redactor()).reproduce
    assert "adm-literal-4711" not in command and "tok-literal-0815" not in command
    assert "'X-Admin-Key: ***'" in command and "'Accept: application/json'" in command


def test_literal_credentials_are_secrets_from_the_moment_the_profile_loads(tmp_path):
    """Not only when their area's first check runs: a failure elsewhere, or an xdist worker that
    never ran that area, must not print them either."""
    path = write(tmp_path, {"name": "unit", "health": {"base_url": "https://api.example.com"},
                            "redis": {"url": "redis://127.0.0.1:6390/0", "password": "redis-lit-4711"},
                            "database": {"dsn": "host=db port=5432 dbname=app user=ro password=kv-lit-0815"},
                            "backup": {"source": {"dsn": "postgresql://bk:url-lit-p%40ss@db:5432/app"}},
                            "pilot": {"base_url": "https://pilot.example.com",
                                      "admin_headers": {"X-Admin-Key": "adm-lit-2222"}}})
    secrets = load_target(path).secrets
    assert {"redis-lit-4711", "kv-lit-0815", "url-lit-p%40ss", "url-lit-p@ss", "adm-lit-2222"} <= secrets
    assert not {"db", "app", "ro", "bk", "https://api.example.com"} & secrets


def test_a_target_never_shows_its_data_in_a_repr(tmp_path):
    path = write(tmp_path, {"name": "unit", "redis": {"url": "redis://h:6390/0", "password": "pw-repr-4711"}})
    assert "pw-repr-4711" not in repr(load_target(path))


# --- what the schema cannot say (releasegate/core/profile_checks.py) ---------------------------------

MCP_OK = {"url": "http://127.0.0.1:9/mcp", "allow_tools": ["get_job_status"],
          "calls": [{"tool": "get_job_status"}], "pass_rule": {"calls": ["get_job_status"]}}


@pytest.mark.parametrize(("section", "expected"), [
    ({"versioning": {"base_url": "http://127.0.0.1:99999"}},
     "versioning.base_url: not a usable URL (Port out of range 0-65535)"),
    ({"mcp": {**MCP_OK, "url": "http://[::1/mcp"}}, "mcp.url: not a usable URL (Invalid IPv6 URL)"),
    ({"health": {"base_url": "http://127.0.0.1:37057${"}}, "health.base_url: not a usable URL"),
    ({"redis": {"url": "redis://127.0.0.1:6390/abc"}}, "redis.url: the Redis database 'abc' is not a number"),
    ({"database": {"dsn": "not a dsn at all"}},
     "database.dsn: neither a postgresql:// URL nor a key=value connection string"),
    ({"database": {"dsn": "mysql://u@127.0.0.1:3306/db"}}, "database.dsn: mysql:// is not a Postgres"),
    ({"database": {"dsn": "host=127.0.0.1 port=abc dbname=x"}}, "database.dsn: port 'abc' is not a number"),
    ({"read_api": {"base_url": "http://127.0.0.1:9",
                   "endpoints": {"quota": {"path": "/v1/quota", "schema": "readapi/nope.schema.json"}}}},
     "read_api.endpoints.quota.schema: readapi/nope.schema.json does not exist beside the profile"),
    ({"read_api": {"base_url": "http://127.0.0.1:9", "endpoints": {
        "fixtures": {"path": "/v1/fixtures", "item_schema": "readapi/nope.item.schema.json"}}}},
     "read_api.endpoints.fixtures.item_schema: readapi/nope.item.schema.json does not exist beside"),
    ({"mcp": {**MCP_OK, "calls": [{"tool": "get_job_status", "schema": "mcp/nope.json"}]}},
     "mcp.calls[0].schema: mcp/nope.json does not exist beside the profile"),
    ({"mcp": {**MCP_OK, "calls": [{"tool": "drop_everything"}]}},
     "mcp.calls[0]: tool 'drop_everything' is not on mcp.allow_tools"),
    ({"mcp": {**MCP_OK, "pass_rule": {"calls": ["nonexistent_call"]}}},
     "mcp.pass_rule.calls: 'nonexistent_call' is not the id of one of mcp.calls"),
    ({"database": {"dsn": "postgresql://db/app", "assertions": [
        {"name": "rows", "sql": "SELECT 1", "expect": {"at_least": 1}},
        {"name": "rows", "sql": "SELECT 2", "expect": {"at_least": 1}}]}},
     "database.assertions[1].name: 'rows' is declared twice"),
    ({"database": {"dsn": "postgresql://db/app", "assertions": [
        {"name": "purge", "sql": "  DELETE FROM raw.api_responses", "expect": {"at_least": 1}}]}},
     "database.assertions[0].sql: starts with DELETE; only SELECT, WITH … SELECT or VALUES can be declared"),
    ({"backup": {"source": {"dsn": "postgresql://db/app"}, "pre_deploy": {
        "path": "backups/pre.dump", "tables": ["public.jobs"], "deploy_started_at": "yesterday"}}},
     "backup.pre_deploy.deploy_started_at: 'yesterday' is neither an ISO 8601 time nor epoch seconds"),
    ({"versioning": {"base_url": "http://127.0.0.1:9",
                     "endpoints": {"leads": {"path": "/api/v1/leads"}},
                     "legacy": {"decision": "supported", "endpoints": {"orphan": {"path": "/orphan"}}}}},
     "versioning.legacy.endpoints.orphan: its v1 counterpart 'orphan' is not under versioning.endpoints"),
])
def test_a_profile_mistake_the_schema_cannot_see_is_one_line_at_load(tmp_path, section, expected):
    message = profile_error(write(tmp_path, {"name": "unit", **section}))
    assert expected in message, message



# --- one validation per process ---------------------------------------------------------------


def test_a_second_load_reuses_the_first_validation_but_not_its_data(tmp_path, monkeypatch):
    """`releasegate run` and the plugin load the same profile in one process: validated once;
    each caller still gets its own copy, and a changed file or variable is validated again."""
    from releasegate.core import profile

    path = write(tmp_path, {"name": "unit", "health": {"base_url": "${RG_BASE}"}})
    calls: list[Path] = []
    real = profile._load
    monkeypatch.setattr(profile, "_load", lambda p, *a: calls.append(p) or real(p, *a))
    first = load_target(path, env={"RG_BASE": BASE})
    second = load_target(path, env={"RG_BASE": BASE})
    assert len(calls) == 1
    assert second.data == first.data and second.data is not first.data
    second.data["health"]["base_url"] = "changed"
    assert load_target(path, env={"RG_BASE": BASE}).data["health"]["base_url"] == BASE
    load_target(path, env={"RG_BASE": "http://127.0.0.1:10"})
    path.write_text(path.read_text() + "# edited\n")
    load_target(path, env={"RG_BASE": BASE})
    assert len(calls) == 3


def test_a_schema_beside_the_profile_wins_and_built_in_names_keep_working(tmp_path):
    """Issue 16 §3: a team keeps its service's contract beside its profile."""
    (tmp_path / "schemas").mkdir()
    own = tmp_path / "schemas" / "quota.json"
    own.write_text('{"type": "object", "required": ["remaining"]}')
    path = write(tmp_path, {"name": "unit", "read_api": {"base_url": "http://127.0.0.1:9", "endpoints": {
        "quota": {"path": "/v1/quota", "schema": "schemas/quota.json"},
        "health": {"path": "/v1/health", "schema": "readapi/quota.schema.json"}}}})
    endpoints = load_target(path).data["read_api"]["endpoints"]
    assert endpoints["quota"]["schema"] == str(own.resolve())
    assert endpoints["health"]["schema"] == "readapi/quota.schema.json"
    from releasegate.core.errors import CheckFailed
    from releasegate.core.schema_check import expect_matches_schema

    with pytest.raises(CheckFailed, match=f"does not match {own.resolve()} at"):
        expect_matches_schema({"used": 1}, endpoints["quota"]["schema"], "GET /v1/quota body")


def test_schema_openapi_is_a_profile_value_that_needs_openapi_core(tmp_path, monkeypatch):
    """`schema: openapi` is accepted at load; without the optional openapi-core it is one line."""
    import importlib.util

    section = {"read_api": {"base_url": "http://127.0.0.1:9",
                            "endpoints": {"teams": {"path": "/v1/teams", "schema": "openapi"}}}}
    load_target(write(tmp_path, {"name": "unit", **section}))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "openapi_core" else real(name, *a))
    message = profile_error(write(tmp_path, {"name": "unit-without-openapi-core", **section}))
    assert "read_api.endpoints.teams.schema: schema: openapi needs openapi-core: pip install " \
           "'releasegate[openapi]'" in message
