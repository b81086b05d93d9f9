"""No secret reaches any output: report.html, junit.xml, summary.json or the terminal.

The target here echoes the credentials it receives back into its bodies (as misconfigured
services do in error messages), so secrets would land in evidence, failure messages and the
report unless redaction masks them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support import run_suites, write_profile

SECRETS = {
    "RG_TEST_TOKEN": "tok-9f8e7d6c5b4a",
    "RG_TEST_API_KEY": "key-0a1b2c3d4e5f",
    "RG_TEST_PASSWORD": "pw-s3cr3t-value",
}


class EchoingHandler(BaseHTTPRequestHandler):
    """Answers every probe, echoing the Authorization and X-Api-Key headers it got."""

    def do_GET(self) -> None:  # http.server calls do_<METHOD>
        echoed = {"auth_seen": self.headers.get("Authorization", ""),
                  "key_seen": self.headers.get("X-Api-Key", "")}
        if self.path == "/healthz/ready":
            code, body = 503, {"status": "not_ready", "environment": "staging",
                               "db": {"status": "error", "detail": f"login failed with {echoed['key_seen']}"},
                               "redis": {"status": "ok"}, "echo": echoed}
        elif self.path == "/health/ready":
            code, body = 200, {"status": "ready", "build_id": f"git:{echoed['key_seen']}",
                               "config_hash": "sha256:0123456789abcdef",
                               "checks": {"config": {"status": "ok"}, "database": {"status": "ok"},
                                          "queue": {"status": "ok"}}}
        else:
            code, body = 200, {"status": "alive", "echo": echoed}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echoing_target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("extra", [["-v", "-rA", "--showlocals", "--tb=long"], ["-n", "2"]],
                         ids=["verbose", "xdist"])
def test_no_secret_in_any_output(echoing_target, tmp_path, extra):
    profile = write_profile(tmp_path / "secret.yaml", {
        "name": "secretive",
        "environment": "staging",
        "health": {
            "base_url": f"http://ops:${{RG_TEST_PASSWORD}}@{echoing_target}",
            "headers": {"Authorization": "Bearer ${RG_TEST_TOKEN}", "X-Api-Key": "${RG_TEST_API_KEY}"},
            "probes": {"live": {"path": "/healthz/live"}, "ready": {"path": "/healthz/ready"}},
            "release": {"path": "/health/ready", "build_id": "git:expected"},
        },
    })
    run = run_suites(profile, tmp_path / "reports", "-m", "health", *extra, env=SECRETS)
    assert run.summary["verdict"] == "ROLLBACK", run.stdout[-2000:]
    outputs = run.outputs()
    for name, secret in SECRETS.items():
        assert secret not in outputs, f"{name} leaked"
    # the secrets were really there to leak: the echoed key is in a failure reason, masked
    failed = run.failed()
    assert "login failed with ***" in json.dumps(run.summary)
    assert "build_id 'git:***'" in failed["test_release_build_id_is_expected"]
    assert "***" in (tmp_path / "reports" / "report.html").read_text()


class LabelHandler(BaseHTTPRequestHandler):
    """A healthy target in production that echoes the bearer token it got into its ready body."""

    def do_GET(self) -> None:  # http.server calls do_<METHOD>
        body = {"status": "alive"} if self.path.endswith("live") else {
            "status": "ready", "environment": "production", "db": {"status": "ok"},
            "redis": {"status": "ok"}, "seen": self.headers.get("Authorization", "")}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_only_credentials_are_masked_labels_from_variables_stay(tmp_path):
    """Issue 16 §5: `environment: ${DEPLOY_ENV}` shows production in summary.json and the report;
    a token from the environment appears in no artifact; the DSN-like user stays readable."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), LabelHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        profile = write_profile(tmp_path / "labels.yaml", {
            "name": "labels", "environment": "${RG_TEST_DEPLOY_ENV}",
            "health": {"base_url": f"http://127.0.0.1:{server.server_address[1]}",
                       "headers": {"Authorization": "Bearer ${RG_TEST_TOKEN}"},
                       "probes": {"live": {"path": "/healthz/live"}, "ready": {"path": "/healthz/ready"}}},
        })
        env = {"RG_TEST_DEPLOY_ENV": "production", "RG_TEST_TOKEN": SECRETS["RG_TEST_TOKEN"]}
        run = run_suites(profile, tmp_path / "reports", "-m", "health", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert run.summary["verdict"] == "GO", run.stdout[-2000:]
    assert SECRETS["RG_TEST_TOKEN"] not in run.outputs()
    summary = json.dumps(run.summary)
    assert '\\"environment\\": \\"production\\"' in summary  # the body excerpt, unmasked
    assert '\\"seen\\": \\"***\\"' in summary  # while the echoed credential is masked
    assert "production" in (tmp_path / "reports" / "report.html").read_text()
