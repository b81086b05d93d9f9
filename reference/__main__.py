"""Serve the reference app: ``python -m reference --fd N`` (a socket the orchestrator bound)."""

from __future__ import annotations

import argparse

import uvicorn

from reference.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m reference")
    parser.add_argument("--fd", type=int, help="an already bound listening socket")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    config = uvicorn.Config(create_app(), fd=args.fd, port=args.port, host="127.0.0.1",
                            log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
