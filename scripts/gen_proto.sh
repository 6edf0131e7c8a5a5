#!/usr/bin/env bash
# Generates proto/krwfeed/v1/market_data_pb2.py(.pyi) from proto/market_data.proto with the protoc
# bundled in grpcio-tools (pinned in setup.py), so every machine produces the same bytes.
# Usage: scripts/gen_proto.sh [OUTPUT_DIR]   (default: proto/krwfeed/v1; tests pass a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-proto/krwfeed/v1}
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Compile from a package-shaped copy so the descriptor is registered as
# "krwfeed/v1/market_data.proto" (a name that cannot clash in a consumer's descriptor pool).
mkdir -p "$work/src/krwfeed/v1" "$work/gen"
cp proto/market_data.proto "$work/src/krwfeed/v1/market_data.proto"
"$PY" -m grpc_tools.protoc -I "$work/src" --python_out="$work/gen" --pyi_out="$work/gen" \
  krwfeed/v1/market_data.proto
mkdir -p "$out"
for f in market_data_pb2.py market_data_pb2.pyi; do
  # Rewrite only when the content changed, so repeated runs leave the tree untouched.
  cmp -s "$work/gen/krwfeed/v1/$f" "$out/$f" || cp "$work/gen/krwfeed/v1/$f" "$out/$f"
done
