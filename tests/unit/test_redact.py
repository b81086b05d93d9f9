"""releasegate.core.redact: known secrets, URL passwords and credential-named fields are masked."""

from __future__ import annotations

import pytest

from releasegate.core.redact import MASK, MIN_SECRET_LENGTH, Redactor


def test_registered_secret_is_masked_everywhere_in_text():
    r = Redactor(["hunter2-token"])
    assert r.text("Bearer hunter2-token, again hunter2-token.") == f"Bearer {MASK}, again {MASK}."


@pytest.mark.parametrize("order", [["abcd", "abcdefgh"], ["abcdefgh", "abcd"]])
def test_longest_secret_is_masked_first(order):
    r = Redactor(order)
    assert r.text("x abcdefgh y abcd z") == f"x {MASK} y {MASK} z"


def test_secret_added_later_is_masked_longest_first():
    r = Redactor(["abcd"])
    r.add(["abcdefgh"])
    assert r.text("abcdefgh") == MASK
    assert r.secrets == frozenset({"abcd", "abcdefgh"})


def test_regex_metacharacters_in_secrets_are_literal():
    r = Redactor(["p.a*s+s(1)"])
    assert r.text("pXaaas+s(1) p.a*s+s(1)") == f"pXaaas+s(1) {MASK}"


def test_too_short_secrets_are_ignored():
    short = "x" * (MIN_SECRET_LENGTH - 1)
    r = Redactor([short, "", "ok"])
    assert r.secrets == frozenset()
    assert r.text(f"{short} ok fine") == f"{short} ok fine"


def test_non_string_secrets_are_ignored():
    r = Redactor([8000, None, "real-secret"])  # type: ignore[list-item]
    assert r.secrets == frozenset({"real-secret"})


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql://user:pw@db:5432/app", f"postgresql://user:{MASK}@db:5432/app"),
    ("redis://default:s3cret@cache:6379/0", f"redis://default:{MASK}@cache:6379/0"),
    ("redis://:s3cret@cache:6379/0", f"redis://:{MASK}@cache:6379/0"),
    ("dsn=postgres+psycopg://app:a.b-c@h/x; next", f"dsn=postgres+psycopg://app:{MASK}@h/x; next"),
    ("sentry https://pubkey123@o1.ingest.sentry.io/42", f"sentry https://{MASK}@o1.ingest.sentry.io/42"),
    ("GET https://h/v1?league=39&api_key=abc123&x=1", f"GET https://h/v1?league=39&api_key={MASK}&x=1"),
    ("http://127.0.0.1:8000/healthz", "http://127.0.0.1:8000/healthz"),
])
def test_url_userinfo_and_credential_query_values_are_masked_without_registration(text, expected):
    assert Redactor().text(text) == expected


@pytest.mark.parametrize("key", ["password", "passwd", "token", "Authorization", "api_key", "apiKey",
                                 "X-API-Key", "dsn", "DATABASE_DSN", "client_secret", "Cookie",
                                 "private_key", "session_id", "refresh_token"])
def test_credential_named_keys_are_masked_at_any_depth(key):
    value = {"outer": [{"inner": {key: "plain-looking-value", "status": "ok"}}]}
    masked = Redactor().value(value)
    assert masked == {"outer": [{"inner": {key: MASK, "status": "ok"}}]}


def test_credential_named_key_masks_short_and_non_string_values():
    masked = Redactor().value({"password": "pw", "token": 123456, "api_key": {"nested": "x"}})
    assert masked == {"password": MASK, "token": MASK, "api_key": MASK}


def test_credential_named_key_keeps_booleans_none_and_empty():
    value = {"password": None, "token": True, "auth": False, "secret": ""}
    assert Redactor().value(value) == value


@pytest.mark.parametrize("key", ["status", "environment", "build_id", "latency_s", "db"])
def test_ordinary_keys_are_kept(key):
    assert Redactor().value({key: "visible"}) == {key: "visible"}


def test_value_masks_registered_secrets_under_ordinary_keys_and_in_lists():
    r = Redactor(["registered-secret"])
    value = {"body": "echo registered-secret", "list": ["registered-secret", 3, None], "n": 1.5}
    assert r.value(value) == {"body": f"echo {MASK}", "list": [MASK, 3, None], "n": 1.5}


def test_value_returns_a_copy():
    original = {"password": "pw", "nested": {"token": "t"}}
    Redactor().value(original)
    assert original == {"password": "pw", "nested": {"token": "t"}}


def test_headers():
    r = Redactor(["sess-abcdef"])
    headers = {"Authorization": "Bearer abc", "X-API-Key": "k", "Accept": "application/json",
               "X-Trace": "id sess-abcdef", "Set-Cookie": "a=b"}
    assert r.headers(headers) == {"Authorization": MASK, "X-API-Key": MASK,
                                  "Accept": "application/json", "X-Trace": f"id {MASK}",
                                  "Set-Cookie": MASK}


def test_empty_text_is_returned_as_is():
    assert Redactor(["secret"]).text("") == ""


@pytest.mark.parametrize("key", ["X-API-Key", "authToken", "access_token", "Set-Cookie", "db.password",
                                 "PGPASSWORD", "HUNTER_SENTRY_DSN", "sessionId", "mcp-session-id"])
def test_credential_names_are_recognised_as_whole_words(key):
    assert Redactor().value({key: "v"}) == {key: "***"}


@pytest.mark.parametrize("key", ["passed", "bypass", "author", "key_configured", "tokens", "build_id"])
def test_words_that_merely_contain_a_credential_word_are_kept(key):
    assert Redactor().value({key: 3}) == {key: 3}


@pytest.mark.parametrize("value", [0, 1, 123456])
def test_numeric_credentials_are_masked(value):
    assert Redactor().value({"pin_token": value}) == {"pin_token": "***"}


@pytest.mark.parametrize(("value", "expected"), [
    ("postgresql://app:pw@db.internal:5432/app?sslmode=require",
     f"postgresql://app:{MASK}@db.internal:5432/app?sslmode={MASK}"),
    ("https://read-api.example.com/v1", "https://read-api.example.com/v1"),
])
def test_a_url_under_a_credential_key_keeps_scheme_host_port_and_path(value, expected):
    assert Redactor().value({"dsn": value}) == {"dsn": expected}


def test_a_non_url_dsn_is_masked_whole():
    assert Redactor().value({"dsn": "host=db password=x"}) == {"dsn": MASK}


def test_shell_writes_environment_values_back_as_variables_and_masks_the_rest():
    r = Redactor(["tok-secret-1"], env={"tok-secret-1": "API_TOKEN", "https://api.example.com": "API_URL"})
    command = r.shell(["curl", "-H", "Authorization: Bearer tok-secret-1", "https://api.example.com/v1/x",
                       "literal pw http://u:p@h/"])
    assert command == ("curl -H 'Authorization: Bearer '\"${API_TOKEN}\" \"${API_URL}\"/v1/x "
                       "'literal pw http://u:***@h/'")
    assert "tok-secret-1" not in command


def test_a_secret_is_masked_in_each_form_it_takes_on_the_wire():
    r = Redactor(["S3CR3T/q+x y"])
    for form in ("S3CR3T/q+x y", "S3CR3T%2Fq%2Bx%20y", "S3CR3T%2Fq%2Bx+y"):
        assert r.text(f"?code={form}&n=1") == f"?code={MASK}&n=1", form
    assert r.text('{"k": "S3CR3T/q+x y"}') == f'{{"k": "{MASK}"}}'


def test_a_libpq_password_is_masked_without_registration():
    r = Redactor()
    assert r.text("psql 'host=db user=ro password=kv-0815 dbname=app'") == \
        f"psql 'host=db user=ro password={MASK} dbname=app'"
    assert r.text("password='a b' host=db") == f"password={MASK} host=db"


@pytest.mark.parametrize("offset", range(380, 400))
def test_a_secret_cut_by_an_excerpt_leaves_no_piece_of_itself(offset):
    from releasegate.core.evidence import excerpt

    r = Redactor(["S3CR3T-ra-key-XYZ"])
    shown = r.text(excerpt("x" * offset + "S3CR3T-ra-key-XYZ" + "y" * 100))
    assert "S3CR" not in shown and "-XYZ" not in shown, shown
    assert r.text("…ra-key-XYZ tail") == f"…{MASK} tail"
    assert r.text("a…b and …XYZ, not a piece of it") == "a…b and …XYZ, not a piece of it"
