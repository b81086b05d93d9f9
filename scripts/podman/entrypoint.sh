#!/bin/sh
# Entry point of releasegate's local Postgres/Redis images (built by scripts/podman-engine.sh from
# Debian's packages): does what the official images' entry points do, so testcontainers'
# PostgresContainer and RedisContainer drive them unchanged.
#   Postgres: initdb with POSTGRES_USER / POSTGRES_PASSWORD, create POSTGRES_DB, listen on *:5432.
#   Redis:    redis-server on *:6379 with its data directory /data (a mounted dump.rdb is loaded).
set -eu
case "${1:-postgres}" in
redis-server|redis)
  shift
  mkdir -p /data
  cd /data
  exec redis-server --bind 0.0.0.0 --protected-mode no --dir /data "$@"
  ;;
postgres)
  [ "${1:-}" = postgres ] && shift
  BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PGDATA=${PGDATA:-/var/lib/postgresql/data}
  USER_NAME=${POSTGRES_USER:-postgres}
  DB_NAME=${POSTGRES_DB:-$USER_NAME}
  mkdir -p "$PGDATA" /tmp/pgsocket
  chown -R postgres:postgres "$PGDATA" /tmp/pgsocket
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    PWFILE=$(mktemp)
    printf '%s' "${POSTGRES_PASSWORD:-}" > "$PWFILE"
    chown postgres "$PWFILE"
    AUTH=trust
    [ -n "${POSTGRES_PASSWORD:-}" ] && AUTH=scram-sha-256
    su postgres -s /bin/sh -c "$BIN/initdb -D '$PGDATA' -U '$USER_NAME' --pwfile='$PWFILE' \
      -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=$AUTH --no-instructions" >/dev/null
    rm -f "$PWFILE"
    echo "host all all all $AUTH" >> "$PGDATA/pg_hba.conf"
    if [ "$DB_NAME" != postgres ]; then  # as the official image: a socket-only server first
      su postgres -s /bin/sh -c "$BIN/pg_ctl -D '$PGDATA' -w -s -o \"-c listen_addresses='' \
        -c unix_socket_directories=/tmp/pgsocket\" start" >/dev/null
      "$BIN/psql" -h /tmp/pgsocket -p 5432 -U "$USER_NAME" -d postgres -qAt -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
      su postgres -s /bin/sh -c "$BIN/pg_ctl -D '$PGDATA' -w -s -m fast stop" >/dev/null
    fi
  fi
  # Debian's psql looks for the socket in /var/run/postgresql (port 5433 without a cluster):
  # point it at ours so `psql` inside the container (testcontainers' readiness probe) answers.
  exec su postgres -s /bin/sh -c "exec $BIN/postgres -D '$PGDATA' -c listen_addresses='*' \
    -c port=5432 -c unix_socket_directories=/tmp/pgsocket $*"
  ;;
*)
  exec "$@"
  ;;
esac
