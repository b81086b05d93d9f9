#!/usr/bin/env bash
# Make sure the system programs releasegate and its self-tests use are present: the throwaway
# Postgres/Redis servers, and each area's extras (scripts/system-packages/<area>.txt).
# Installs what is missing from Debian's packages when we may (root + apt-get); otherwise says how.
#
# Each line of a list is "<debian-package> <probe>": the probe is a command name or a path glob
# that exists once the package is installed. Lines starting with # are comments.
set -euo pipefail
cd "$(dirname "$0")"
present() {
  case "$1" in
    */*) compgen -G "$1" >/dev/null ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}
missing=()
while read -r package probe _; do
  [ -z "${package:-}" ] || [ "${package:0:1}" = "#" ] && continue
  present "$probe" || missing+=("$package")
done < <(cat system-packages/*.txt)
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "releasegate: installing ${missing[*]} from Debian's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "releasegate: missing system packages: install ${missing[*]} (e.g. sudo apt-get install -y ${missing[*]})" >&2
  exit 69
fi
