"""Throwaway Postgres and Redis servers for the reference stack and restore rehearsals.

``get_provider()`` picks testcontainers when a Docker engine answers, local server binaries
otherwise; RELEASEGATE_PROVIDER=local|docker forces one.
"""

from releasegate.servers.base import PostgresServer, Provider, RedisServer, get_provider

__all__ = ["PostgresServer", "Provider", "RedisServer", "get_provider"]
