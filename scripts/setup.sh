#!/usr/bin/env bash
# Installs everything krwfeed needs on a Debian 12 machine: system packages, the Python package
# with its pinned dependencies, the Apache Kafka jars (cached) and the generated Protobuf code.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# docker.io and debootstrap: the container test's engine and the base image built from Debian packages
APT_PACKAGES=(kcat protobuf-compiler prometheus chromium openssl openjdk-17-jre-headless maven docker.io debootstrap)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
$PY -m pip install -q --disable-pip-version-check -e '.[dev,kafka-confluent]'

scripts/kafka.sh fetch
scripts/gen_proto.sh
echo "setup: done"
