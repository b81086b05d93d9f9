#!/usr/bin/env bash
# The Docker path, for real: podman (with runc) serving the Docker API on a unix socket that
# testcontainers drives through DOCKER_HOST, with local Postgres 15 and Redis 7 images built from
# a debootstrap rootfs of Debian's packages (no registry can be reached for images here).
#
#   bash scripts/podman-engine.sh start   # build the images when missing, start the API service
#   bash scripts/podman-engine.sh stop    # stop the service this script started
#   bash scripts/podman-engine.sh images  # only build the images when missing
#
# `start` writes $RELEASEGATE_PODMAN_DIR/env (default /tmp/releasegate-podman/env): the variables
# testcontainers needs (see ../shared/notes on podman). Source it, or point
# RELEASEGATE_PODMAN_ENV at it for the container self-tests. Packages: podman, runc, debootstrap
# (scripts/system-packages/backup.txt installs them with the rest).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${RELEASEGATE_PODMAN_DIR:-/tmp/releasegate-podman}"
# {major} is filled in per rehearsal (the source's major); Debian bookworm ships Postgres 15.
pg_template="${RELEASEGATE_POSTGRES_IMAGE:-localhost/releasegate-postgres:{major}}"
pg_image="${pg_template//\{major\}/15}"
redis_image="${RELEASEGATE_REDIS_IMAGE:-localhost/releasegate-redis:7}"
suite="${RELEASEGATE_DEBIAN_SUITE:-bookworm}"
mkdir -p "$dir"
export CONTAINERS_CONF="$dir/containers.conf"
# crun fails here ("cgroups in hybrid mode not supported"); runc works. No ulimits/pids limits:
# the sandbox refuses to raise them.
cat > "$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = []
pids_limit = 0
[engine]
runtime = "runc"
CONF

log() { echo "podman-engine: $*" >&2; }

need() {
  for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || {
      log "$tool is missing: apt-get install -y podman runc debootstrap (or make .venv/.installed)"
      exit 69
    }
  done
}

mirror() {
  # The Debian mirror apt already uses (deb822 or one-line sources), so no other host is needed.
  local uri
  uri=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 |
        awk '{print $2}') || true
  [ -n "$uri" ] || uri=$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null | head -n 1 |
        awk '{print $2}') || true
  echo "${uri:-http://deb.debian.org/debian}"
}

build_images() {
  need
  if podman image exists "$pg_image" && podman image exists "$redis_image"; then
    log "images present: $pg_image $redis_image"
    return
  fi
  local started rootfs
  started=$(date +%s)
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/rg-rootfs-XXXXXX")
  trap 'rm -rf "$rootfs" "$rootfs.tar"' RETURN
  log "debootstrap $suite (postgresql-15, redis-server) from $(mirror) into $rootfs"
  debootstrap --variant=minbase --include=postgresql-15,redis-server,redis-tools \
    "$suite" "$rootfs" "$(mirror)" >"$dir/debootstrap.log" 2>&1 || {
      tail -n 5 "$dir/debootstrap.log" >&2; log "debootstrap failed (log: $dir/debootstrap.log)"
      exit 1; }
  # The package's own cluster is not used (the entry point runs initdb); keep the image lean.
  rm -rf "$rootfs"/var/lib/postgresql/*/main "$rootfs"/etc/postgresql/*/main \
         "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/usr/share/doc "$rootfs"/usr/share/man
  install -m 0755 "$here/podman/entrypoint.sh" "$rootfs/entrypoint.sh"
  tar -C "$rootfs" -cf "$rootfs.tar" .
  log "importing $pg_image and $redis_image"
  podman import -q --change 'ENTRYPOINT ["/entrypoint.sh"]' --change 'CMD ["postgres"]' \
    --change 'EXPOSE 5432' --change 'ENV PGPORT=5432' --change 'ENV PGDATA=/var/lib/postgresql/data' \
    "$rootfs.tar" "$pg_image" >/dev/null
  podman import -q --change 'ENTRYPOINT ["/entrypoint.sh"]' --change 'CMD ["redis-server"]' \
    --change 'EXPOSE 6379' --change 'WORKDIR /data' "$rootfs.tar" "$redis_image" >/dev/null
  log "images built in $(( $(date +%s) - started ))s"
}

start_service() {
  local sock="$dir/podman.sock" pid
  if [ -f "$dir/service.pid" ] && kill -0 "$(cat "$dir/service.pid")" 2>/dev/null; then
    log "service already running (pid $(cat "$dir/service.pid"))"
  else
    rm -f "$sock"
    setsid podman system service --time=0 "unix://$sock" >"$dir/service.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$dir/service.pid"
    for _ in $(seq 1 100); do
      [ -S "$sock" ] && curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 || {
      log "podman API did not answer on $sock (log: $dir/service.log)"; exit 1; }
    log "Docker API on unix://$sock (pid $pid)"
  fi
  cat > "$dir/env" <<ENV
DOCKER_HOST=unix://$sock
CONTAINERS_CONF=$CONTAINERS_CONF
TESTCONTAINERS_RYUK_DISABLED=true
TESTCONTAINERS_CONNECTION_MODE=docker_host
TC_HOST=127.0.0.1
RELEASEGATE_POSTGRES_IMAGE=$pg_template
RELEASEGATE_REDIS_IMAGE=$redis_image
ENV
  echo "$dir/env"
}

stop_service() {
  if [ -f "$dir/service.pid" ]; then
    kill "$(cat "$dir/service.pid")" 2>/dev/null || true
    rm -f "$dir/service.pid" "$dir/env"
    log "service stopped"
  fi
}

case "${1:-start}" in
  images) build_images ;;
  start) build_images; start_service ;;
  stop) stop_service ;;
  *) echo "usage: $0 start|stop|images" >&2; exit 64 ;;
esac
