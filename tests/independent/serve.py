"""Serve an ASGI app with uvicorn on a free loopback port in a thread, for one test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serving(app: Any, *, host: str = "127.0.0.1", **config: Any) -> Iterator[str]:
    """The app's base URL while it serves; ``proxy_headers`` is off unless asked: the service
    judges the connecting address, as behind no proxy."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="off",
                                           proxy_headers=config.pop("proxy_headers", False),
                                           timeout_graceful_shutdown=1, **config))
    thread = threading.Thread(target=server.run, name="independent-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the independent app did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
