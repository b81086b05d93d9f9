#!/usr/bin/env bash
# Make sure the Postgres and Redis server binaries the throwaway-server provider uses are present.
# Installs them from Debian's packages when missing and we may (root + apt-get); otherwise says how.
set -euo pipefail
have_pg() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_redis() { command -v redis-server >/dev/null 2>&1; }
if have_pg && have_redis; then exit 0; fi
missing=()
have_pg || missing+=(postgresql)
have_redis || missing+=(redis-server)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "releasegate: installing ${missing[*]} (throwaway servers for the reference stack)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "releasegate: missing server binaries: install ${missing[*]} (e.g. sudo apt-get install -y ${missing[*]})" >&2
  exit 69
fi
