#!/usr/bin/env bash
# A Docker engine for the container test, on machines where no registry image can be pulled.
#
#   scripts/container_engine.sh start   start dockerd on var/dockerd/docker.sock (no-op if it answers)
#   scripts/container_engine.sh base    build the Dockerfile's base image (python:3.11-slim) from
#                                       Debian packages with debootstrap, if the engine lacks it
#   scripts/container_engine.sh stop    stop that dockerd
#   scripts/container_engine.sh env     print the DOCKER_HOST line to export
#
# The engine runs with --bridge=none --iptables=false (no network setup on the host): containers use
# --network host. Needs root and Debian's docker.io and debootstrap (scripts/setup.sh installs them).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$ROOT/var/dockerd
SOCK=$DIR/docker.sock
BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export DOCKER_HOST=unix://$SOCK

say() { echo "container-engine: $*"; }
die() { echo "container-engine: $*" >&2; exit 1; }
answers() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

cmd_start() {
  if answers; then say "running ($DOCKER_HOST)"; return 0; fi
  command -v dockerd >/dev/null || die "dockerd not found (Debian: apt-get install docker.io)"
  [ "$(id -u)" -eq 0 ] || die "dockerd needs root"
  mkdir -p "$DIR"
  local t0=$SECONDS
  setsid dockerd --host "$DOCKER_HOST" --data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$DIR/dockerd.pid" \
    --iptables=false --ip6tables=false --bridge=none --ip-masq=false >"$DIR/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 300); do
    answers && { say "started (pid $(cat "$DIR/dockerd.pid"), $DOCKER_HOST) in $((SECONDS - t0)) s"; return 0; }
    sleep 0.1
  done
  tail -n 20 "$DIR/dockerd.log" >&2
  die "dockerd did not answer within 30 s (log: $DIR/dockerd.log)"
}

cmd_base() {
  answers || die "no engine answers on $DOCKER_HOST (run: $0 start)"
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then say "base image $BASE_IMAGE present"; return 0; fi
  command -v debootstrap >/dev/null || die "debootstrap not found (Debian: apt-get install debootstrap)"
  local t0=$SECONDS rootfs
  rootfs=$(mktemp -d "$DIR/rootfs.XXXXXX")
  # Debian 12's Python is 3.11, like the image it stands in for; pip installs into the system
  # Python, as in the official image, so the "externally managed" marker is removed.
  debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3,ca-certificates \
    bookworm "$rootfs" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 \
    || { tail -n 20 "$DIR/debootstrap.log" >&2; rm -rf "$rootfs"; die "debootstrap failed (log: $DIR/debootstrap.log)"; }
  rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
  # The stand-in trusts what this machine trusts, so pip inside "docker build" reaches the package
  # index through the same TLS-inspecting proxy, if there is one, that the host uses.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  say "base image $BASE_IMAGE built from Debian bookworm packages in $((SECONDS - t0)) s"
}

cmd_stop() {
  local pid
  pid=$(cat "$DIR/dockerd.pid" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then say "not running"; return 0; fi
  kill -TERM "$pid"
  for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      # dockerd leaves its network namespace mounted, which would block removing var/dockerd
      umount "$DIR/exec/netns/default" 2>/dev/null || true
      say "stopped (pid $pid)"
      return 0
    fi
    sleep 0.1
  done
  die "dockerd pid $pid still runs 20 s after SIGTERM"
}

case "${1:-}" in
  start) cmd_start ;;
  base) cmd_base ;;
  stop) cmd_stop ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST" ;;
  *) sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
