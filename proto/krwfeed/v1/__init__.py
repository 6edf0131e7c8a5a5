"""Code generated from proto/market_data.proto by scripts/gen_proto.sh (do not edit)."""
