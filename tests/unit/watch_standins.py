"""Stand-ins for the watch self-tests: a Prometheus query API and Argo CD's application API.

Both serve the published answer shapes — Prometheus' HTTP API (``/api/v1/query``:
``{"status": "success", "data": {"resultType": "vector", "result": [...]}}``,
prometheus.io/docs/prometheus/latest/querying/api/) and Argo CD's ``GET
/api/v1/applications/{name}`` (tests/unit/data/argocd-swagger-excerpt.json, cut from
argoproj/argo-cd assets/swagger.json at 37ee0097, 3.6.0); every Argo CD answer is validated
against that swagger's definitions before it is sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema

SWAGGER = json.loads((Path(__file__).parent / "data" / "argocd-swagger-excerpt.json").read_text())
Handler = Callable[[BaseHTTPRequestHandler], tuple[int, Any] | None]


@contextmanager
def serve(handle: Handler) -> Iterator[str]:
    """Serve ``handle`` on 127.0.0.1; it returns (status, json body), or None to hang up."""

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = handle(self)
            if answer is None:  # stop answering: close without a response
                self.close_connection = True
                return
            status, body = answer
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def prometheus(values: Callable[[int], float | None]) -> Handler:
    """Answer the n-th instant query with ``values(n)``: a number, or None to hang up."""
    count = {"n": 0}

    def handle(req: BaseHTTPRequestHandler) -> tuple[int, Any] | None:
        if not req.path.startswith("/api/v1/query"):
            return 404, {"status": "error", "errorType": "not_found", "error": req.path}
        n = count["n"]
        count["n"] += 1
        value = values(n)
        if value is None:
            return None
        return 200, {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "api"}, "value": [1_700_000_000 + n, str(value)]}]}}

    return handle


def argocd_app(name: str, sync: str, health: str, *, message: str = "", phase: str = "Succeeded",
               revision: str = "abc1234") -> dict[str, Any]:
    """A v1alpha1Application answer, checked against Argo CD's swagger before it is served."""
    app = {"metadata": {"name": name, "namespace": "argocd"},
           "spec": {"project": "default"},
           "status": {"sync": {"status": sync, "revision": revision},
                      "health": {"status": health, **({"message": message} if message else {})},
                      "operationState": {"phase": phase, "message": "successfully synced",
                                         "startedAt": "2026-12-06T09:00:00Z"},
                      "reconciledAt": "2026-12-06T09:00:05Z"}}
    schema = {"$ref": "#/definitions/v1alpha1Application", "definitions": SWAGGER["definitions"]}
    jsonschema.Draft4Validator(schema).validate(app)
    return app


def argocd(states: list[dict[str, Any]], token: str) -> Handler:
    """Answer GET /api/v1/applications/{name} with the next state (the last one repeats)."""
    count = {"n": 0}

    def handle(req: BaseHTTPRequestHandler) -> tuple[int, Any]:
        if req.headers.get("Authorization") != f"Bearer {token}":
            return 401, {"error": "no session information", "code": 16,
                         "message": "no session information"}
        if not req.path.startswith("/api/v1/applications/"):
            return 404, {"error": "not found", "code": 5, "message": "not found"}
        state = states[min(count["n"], len(states) - 1)]
        count["n"] += 1
        return 200, state

    return handle
