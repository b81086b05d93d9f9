"""No Read API credential reaches any output, whatever the target echoes; write probes need consent.

The target here echoes the basic-auth credentials it receives — the header as sent, and decoded —
into its JSON bodies and its event data, as misconfigured services do in error messages. With
--allow-mutations it also accepts POST, so the write probe is proven against a real answer.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support import run_suites, write_profile

SECRETS = {"RG_READ_USER": "ops-7c1d9e", "RG_READ_PASSWORD": "pw-read-9q8w7e6r"}
ENCODED = base64.b64encode(f"{SECRETS['RG_READ_USER']}:{SECRETS['RG_READ_PASSWORD']}".encode()).decode()


class EchoingReadApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _echo(self) -> dict[str, str]:
        header = self.headers.get("Authorization", "")
        try:
            decoded = base64.b64decode(header.partition(" ")[2]).decode()
        except ValueError:
            decoded = ""
        return {"auth_seen": header, "decoded": decoded}

    def _json(self, code: int, body: dict, **headers: str) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # http.server calls do_<METHOD>
        echo = self._echo()
        if echo["auth_seen"] != f"Basic {ENCODED}":
            self._json(401, {"detail": f"bad credentials {echo['decoded']}", **echo},
                       WWW_Authenticate='Basic realm="read_api"')
        elif self.path.startswith("/v1/sse/"):
            data = json.dumps({"status": "ok", "who": echo["decoded"]})
            body = f"event: system_status\nid: 1\ndata: {data}\n\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self._json(200, {"daily_remaining": 10, "minute_remaining": None, **echo})  # 000 §1.2 A

    def do_OPTIONS(self) -> None:
        self._json(405, {"detail": "Method Not Allowed"}, Allow="GET, HEAD")

    def do_POST(self) -> None:
        self._json(201, {"accepted": True, **self._echo()})

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echoing_read_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingReadApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_read_api_credentials_never_leak_and_writes_need_consent(echoing_read_api, tmp_path):
    profile = write_profile(tmp_path / "read.yaml", {
        "name": "echoing-read-api",
        "read_api": {
            "base_url": echoing_read_api,
            "auth": {"username": "${RG_READ_USER}", "password": "${RG_READ_PASSWORD}"},
            "endpoints": {"quota": {"path": "/v1/quota", "schema": "readapi/quota.schema.json"}},
            "streams": {"system_status": {"path": "/v1/sse/system-status", "event": "system_status",
                                          "within_s": 2, "resume": False}},
        },
    })
    run = run_suites(profile, tmp_path / "reports", "-m", "readapi", "-v", "-rA", "--tb=long",
                     "--allow-mutations", env=SECRETS)
    outputs = run.outputs()
    for leaked in (SECRETS["RG_READ_PASSWORD"], ENCODED):  # a user name is evidence (issue 16)
        assert leaked not in outputs, f"{leaked!r} leaked"
    failed = run.failed()
    # the echoed credentials were really there: in a failure reason and in evidence, masked
    assert "POST /v1/quota answered 201" in failed["test_write_method_is_refused[POST]"]
    assert set(failed) == {"test_write_method_is_refused[POST]"}, failed
    quota = next(c for c in run.summary["checks"] if c["id"].endswith("test_endpoint_answers_200[quota]"))
    assert f'"decoded": "{SECRETS["RG_READ_USER"]}:***"' in quota["evidence"]["requests"][0]["excerpt"]
    # reproduce commands name the variables, so they can be pasted where they are exported
    assert '-u "${RG_READ_USER}":"${RG_READ_PASSWORD}"' in quota["evidence"]["requests"][0]["reproduce"]


def test_write_methods_are_only_advertised_without_consent(echoing_read_api, tmp_path):
    profile = write_profile(tmp_path / "read.yaml", {
        "name": "echoing-read-api",
        "read_api": {"base_url": echoing_read_api,
                     "auth": {"username": "${RG_READ_USER}", "password": "${RG_READ_PASSWORD}"},
                     "endpoints": {"quota": {"path": "/v1/quota"}}},
    })
    run = run_suites(profile, tmp_path / "reports", "-m", "readapi", "-k", "write_method", env=SECRETS)
    assert set(run.outcomes().values()) == {"passed"}, run.outcomes()
    evidence = json.dumps([c["evidence"] for c in run.summary["checks"]])
    assert "OPTIONS" in evidence and "POST http" not in evidence
