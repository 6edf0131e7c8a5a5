#!/usr/bin/env bash
# `make run`: the whole pipeline on this machine — a local Kafka broker, the exchange simulator
# (Upbit and Bithumb protocols) and krwfeed with conf/dev.yaml. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export KAFKA_PORT=${KAFKA_PORT:-9092}
UPBIT_PORT=${UPBIT_PORT:-18081}
BITHUMB_PORT=${BITHUMB_PORT:-18082}
WEB_PORT=${PORT:-8080}
mkdir -p var/run
SIM_PID=""
APP_PID=""
STARTED_KAFKA=0

cleanup() {
  trap - INT TERM EXIT
  set +e  # stop everything even if one step fails
  echo
  echo "run: stopping"
  [ -n "$APP_PID" ] && kill -TERM "$APP_PID" 2>/dev/null && wait "$APP_PID" 2>/dev/null || true
  [ -n "$SIM_PID" ] && kill -TERM "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
  if [ "$STARTED_KAFKA" = 1 ]; then scripts/kafka.sh stop || true; fi
  echo "run: stopped"
}
trap cleanup INT TERM EXIT

if ! scripts/kafka.sh status >/dev/null 2>&1; then
  scripts/kafka.sh start
  STARTED_KAFKA=1
fi

$PY -m simulator --upbit-port "$UPBIT_PORT" --bithumb-port "$BITHUMB_PORT" --rate 200 \
  > var/run/simulator.log 2>&1 &
SIM_PID=$!
for _ in $(seq 1 100); do
  grep -q '"ready"' var/run/simulator.log 2>/dev/null && break
  sleep 0.1
done
echo "run: exchange simulator up (Upbit ws://127.0.0.1:$UPBIT_PORT/websocket/v1, Bithumb ws://127.0.0.1:$BITHUMB_PORT/websocket/v1)"

PORT=$WEB_PORT $PY actor_system.py --conf conf/dev.yaml --kafka-bootstrap "127.0.0.1:$KAFKA_PORT" &
APP_PID=$!
cat <<MSG
run: krwfeed is starting
  dashboard   http://127.0.0.1:$WEB_PORT/
  health      http://127.0.0.1:$WEB_PORT/health
  metrics     http://127.0.0.1:$WEB_PORT/metrics
  data        $PY scripts/tail.py --bootstrap 127.0.0.1:$KAFKA_PORT market.upbit.trade
              kcat -b 127.0.0.1:$KAFKA_PORT -C -t market.upbit.trade -f 'key=%k partition=%p offset=%o bytes=%S\n'
  Ctrl-C stops krwfeed, the simulator and the broker.
MSG
wait "$APP_PID"
