"""No configuration file can hang, crash or bloat the service: ``python3 actor_system.py --conf FILE``
exits 2 with one clear line on stderr, no traceback, and leaves no process behind (the factory checks).

The URLs point at a closed loopback port, so a file wrongly accepted would not reach any exchange;
it would fail the exit-code check instead.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.service_process import ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

EXIT_LIMIT_S = 30.0  # each case is refused before anything starts; this only bounds a hang


def exchange(name: str, markets: str, extra: str = "") -> str:
    return (f"  - name: {name}\n    ws_url: ws://127.0.0.1:1/websocket/v1\n    rest_url: http://127.0.0.1:1\n"
            f"    markets: {markets}\n{extra}")


def valid_config(admin_port: int, exchanges: str | None = None) -> str:
    return f"exchanges:\n{exchanges or exchange('upbit', '[KRW-BTC]')}admin_port: {admin_port}\n"


def alias_bomb(admin_port: int) -> str:
    """About 1.4 KB standing for 9**9 (387 million) market codes."""
    lines = ['a0: &a0 ["KRW-BTC", "KRW-ETH", "KRW-XRP", "KRW-SOL", "KRW-ADA", "KRW-TRX", "KRW-DOT", "KRW-EOS", '
             '"KRW-SUI"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    doc = "\n".join(lines) + "\n" + valid_config(admin_port, exchange("upbit", "*a8"))
    return doc + "# " + "padding " * max(0, (1400 - len(doc)) // 8) + "\n"


def refused(service: ServiceProcess) -> str:
    """The one line the service printed, once it has exited 2."""
    rc = service.wait_exit(EXIT_LIMIT_S)
    err = service.stderr_path.read_text(errors="replace") if service.stderr_path.exists() else ""
    assert rc == 2, f"exit {rc} (None: still running after {EXIT_LIMIT_S} s); stderr: {err[-2000:]}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{err[-3000:]}"
    assert "Traceback" not in err
    line = lines[0]
    assert line.startswith("krwfeed: invalid configuration: ") and str(service.conf) in line, line
    assert len(line) < 400, line
    return line


Factory = Callable[..., ServiceProcess]


def test_S4_1_c_alias_bomb_is_refused_at_once(service_factory: Factory, ports: tuple[int, int]) -> None:
    text = alias_bomb(ports[0])
    assert 1300 <= len(text.encode()) <= 1600
    line = refused(service_factory(text))
    assert "100000 values" in line and "alias" in line


def test_S4_1_c_file_that_is_not_utf8_is_refused(service_factory: Factory, ports: tuple[int, int]) -> None:
    text = valid_config(ports[0]).encode() + "# caf\u00e9 in Latin-1\n".encode("latin-1")
    line = refused(service_factory(text))
    assert "UTF-8" in line and "line 7" in line


def test_S4_1_c_deeply_nested_yaml_is_refused(service_factory: Factory, ports: tuple[int, int]) -> None:
    text = valid_config(ports[0]) + "deep: " + "[" * 5000 + "]" * 5000 + "\n"
    line = refused(service_factory(text))
    assert "nesting deeper than 32 levels" in line


def test_S4_1_c_60_mb_file_is_refused(service_factory: Factory, ports: tuple[int, int]) -> None:
    service = service_factory(valid_config(ports[0]) + "# " + "x" * (60 * 1024 * 1024) + "\n")
    assert os.path.getsize(service.conf) > 60_000_000
    line = refused(service)
    assert "at most 1000000 bytes" in line


def test_S4_1_c_200000_markets_are_refused(service_factory: Factory, ports: tuple[int, int]) -> None:
    codes = "[" + ", ".join(f"KRW-C{i}" for i in range(200_000)) + "]"
    line = refused(service_factory(valid_config(ports[0], exchange("upbit", codes, "    markets_per_connection: 4\n"))))
    assert "at most 1000000 bytes" in line  # the file bound comes first


def test_S4_1_c_market_count_is_bounded(service_factory: Factory, ports: tuple[int, int]) -> None:
    codes = "[" + ", ".join(f"KRW-C{i}" for i in range(5_000)) + "]"
    line = refused(service_factory(valid_config(ports[0], exchange("upbit", codes))))
    assert "exchanges[0].markets" in line and "at most 2000 market codes" in line


def test_S4_1_c_connection_count_is_bounded(service_factory: Factory, ports: tuple[int, int]) -> None:
    codes = "[" + ", ".join(f"KRW-C{i}" for i in range(1_000)) + "]"
    line = refused(service_factory(valid_config(ports[0], exchange("upbit", codes, "    markets_per_connection: 4\n"))))
    assert "exchanges[0].markets_per_connection = 4" in line and "at most 50 connections" in line
    assert "250 connections" in line


def test_S4_1_c_bithumb_depth_30_is_refused_at_load(service_factory: Factory, ports: tuple[int, int]) -> None:
    text = valid_config(ports[0], exchange("bithumb", "[KRW-BTC]", "    orderbook_depth: 30\n"))
    line = refused(service_factory(text))
    assert "exchanges[0].orderbook_depth = 30" in line and "1 to 15" in line and "bithumb" in line


def test_S4_1_c_a_directory_is_refused(service_factory: Factory, ports: tuple[int, int], tmp_path: Path) -> None:
    service = service_factory(valid_config(ports[0]), args=["--conf", str(tmp_path)])
    rc = service.wait_exit(EXIT_LIMIT_S)
    err = service.stderr_path.read_text()
    assert rc == 2 and "not a readable file" in err and "Traceback" not in err, err
