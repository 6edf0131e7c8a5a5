#!/usr/bin/env bash
# Runs the whole test suite: unit, integration (real Kafka, simulator, Prometheus, Chromium),
# end to end and the fault suite. Starts the local broker unless KRWFEED_KAFKA_BOOTSTRAP is set,
# and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
rc=0
$PY -m pytest -q "$@" || rc=$?
# pytest exits 5 when no test ran: that is a failure here.
exit $rc
