"""Inspect raw exchange frames: ``python -m exchanges.decode --exchange upbit < frames.jsonl``.

Reads one raw frame (a JSON document) per line on stdin and writes one JSON line per output:
``{"data_type": "trade"|"orderbook", "record": {...}}`` with the record in protobuf's canonical JSON
mapping (proto field names; decimals as the exact strings krwfeed publishes, uint64 ids as
strings, times as RFC 3339 UTC), ``{"status": ...}`` for keep-alive/status frames,
``{"ignored": <type>, "line": N}`` for data types krwfeed does not carry, and
``{"error": ..., "line": N}`` for exchange errors and malformed lines. It never stops on a bad line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, TextIO

from google.protobuf import json_format

from domain.clock import utc_now_us
from domain.exceptions import ValidationException
from domain.market_data import validate_record
from exchanges.base import FrameKind
from exchanges.registry import NAMES, get_adapter
from proto.serializer import parse, serialize

ALL_QUOTES = ("KRW", "BTC", "USDT")


def decode_lines(lines: Iterable[bytes], exchange: str, fmt: str | None = None,
                 quote_currencies: tuple[str, ...] = ALL_QUOTES, received_time_us: int | None = None,
                 ) -> Iterator[dict[str, Any]]:
    """Each raw line -> output documents. ``fmt`` ("DEFAULT"/"SIMPLE"), when given, flags frames in
    the other format as errors; frames are otherwise recognised in either format."""
    adapter = get_adapter(exchange)
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        received = received_time_us if received_time_us is not None else utc_now_us()
        try:
            frame = adapter.decode(line, received)
            if frame.kind is FrameKind.STATUS:
                yield {"status": frame.status, **frame.extra}
            elif frame.kind is FrameKind.ERROR:
                yield {"error": {"name": frame.error_name, "message": frame.error_message}, "line": number}
            elif frame.kind is FrameKind.IGNORED:
                yield {"ignored": frame.ignored_type, "line": number}
            elif fmt and frame.extra.get("format", fmt) != fmt:
                yield {"error": f"frame is {frame.extra['format']}, not {fmt}", "line": number}
            else:
                for record in frame.records:
                    validate_record(record, quote_currencies)
                    message = parse(record.data_type.value, serialize(record))
                    yield {"data_type": record.data_type.value,
                           "record": json_format.MessageToDict(message, preserving_proto_field_name=True)}
        except ValidationException as err:
            yield {"error": err.to_dict(), "line": number}


def main(argv: list[str] | None = None, stdin: BinaryIO | None = None, stdout: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exchanges.decode", description=__doc__.splitlines()[0])
    parser.add_argument("--exchange", required=True, choices=NAMES)
    parser.add_argument("--format", choices=("default", "simple"), help="flag frames in the other format")
    parser.add_argument("--quotes", default=",".join(ALL_QUOTES),
                        help="accepted quote currencies, comma-separated (default: %(default)s)")
    args = parser.parse_args(argv)
    source = stdin or sys.stdin.buffer  # bytes: a line that is not UTF-8 is reported, not fatal
    out = stdout or sys.stdout
    quotes = tuple(q.strip().upper() for q in args.quotes.split(",") if q.strip())
    try:
        for document in decode_lines(source, args.exchange, args.format.upper() if args.format else None, quotes):
            out.write(json.dumps(document, ensure_ascii=False) + "\n")
        out.flush()
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush silent
    return 0


if __name__ == "__main__":
    sys.exit(main())
