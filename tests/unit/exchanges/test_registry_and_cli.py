"""The adapter registry and the ``python -m exchanges.decode`` inspection command."""
from __future__ import annotations

import io
import json

import pytest

from exchanges.base import ExchangeAdapter
from exchanges.decode import decode_lines, main
from exchanges.registry import get_adapter

pytestmark = pytest.mark.unit


def test_registry_names() -> None:
    for name in ("upbit", "bithumb", "bithumb-legacy"):
        adapter: ExchangeAdapter = get_adapter(name)
        assert adapter.name == name and get_adapter(name.upper()) is adapter
    with pytest.raises(ValueError, match="unknown exchange"):
        get_adapter("binance")


def test_cli_reports_every_line_and_keeps_going() -> None:
    frames = b"\n".join([
        b'{"ty":"trade","cd":"KRW-BTC","tp":6759000.0,"tv":0.03243003,"tms":1584257228806,"ttms":1584257228000,'
        b'"ab":"BID","cp":64000.0,"pcp":6823000.0,"sid":1584257228000000,"st":"SNAPSHOT","td":"2020-03-15",'
        b'"ttm":"07:27:08","c":"FALL"}',
        b"not json",
        b'{"status":"UP"}',
        b"",
        b'{"type":"ticker","code":"KRW-BTC"}',
        b'{"error":{"name":"NO_CODES","message":"m"}}',
    ])
    out = io.StringIO()
    assert main(["--exchange", "upbit", "--format", "simple"], io.BytesIO(frames), out) == 0
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert docs[0]["data_type"] == "trade"
    record = docs[0]["record"]
    assert record["price"] == "6759000.0" and record["sequential_id"] == "1584257228000000"
    assert record["trade_time"] == "2020-03-15T07:27:08Z" and record["side"] == "BID"
    assert docs[1]["line"] == 2 and docs[1]["error"]["type"] == "ValidationException"
    assert docs[2] == {"status": "UP"}
    assert docs[3] == {"ignored": "ticker", "line": 5}
    assert docs[4] == {"error": {"name": "NO_CODES", "message": "m"}, "line": 6}


def test_cli_format_flag_flags_other_format() -> None:
    docs = list(decode_lines([b'{"ty":"trade","cd":"KRW-BTC","tp":1,"tv":1,"tms":1584257228806,'
                              b'"ttms":1584257228000,"sid":1}'], "upbit", "DEFAULT", received_time_us=1))
    assert docs == [{"error": "frame is SIMPLE, not DEFAULT", "line": 1}]
