"""Serve the reference app: ``python -m releasegate.reference --fd N`` (a socket the orchestrator bound)."""

from __future__ import annotations

import argparse
import socket

import uvicorn

from releasegate.reference.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m releasegate.reference")
    parser.add_argument("--fd", type=int, help="an already bound listening socket")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    config = uvicorn.Config(create_app(), port=args.port, host="127.0.0.1",
                            log_level="warning", access_log=False, lifespan="on")
    # Hand the bound TCP socket over as a socket, not as fd=: uvicorn takes an fd for a Unix
    # socket and then never sets TCP_NODELAY, so kept-alive answers waited ~40 ms on Nagle.
    sockets = [socket.socket(fileno=args.fd)] if args.fd is not None else None
    uvicorn.Server(config).run(sockets=sockets)


if __name__ == "__main__":
    main()
