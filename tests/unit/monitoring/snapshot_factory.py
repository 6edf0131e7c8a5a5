"""Builds status snapshots in the documented shape (messages.StatusSnapshot) for tests."""
from __future__ import annotations

from typing import Any

from domain.config import ExchangeConfig
from domain.settings import Settings, WebSettings
from messages import StatusSnapshot

US = 1_000_000
NOW_US = 1_760_000_000 * US


def settings(stale_after_s: float = 60.0) -> Settings:
    upbit = ExchangeConfig(name="upbit", ws_url="wss://api.upbit.com/websocket/v1",
                           rest_url="https://api.upbit.com/v1", markets=("KRW-BTC", "KRW-ETH"))
    bithumb = ExchangeConfig(name="bithumb", ws_url="wss://ws-api.bithumb.com/websocket/v1",
                             rest_url="https://api.bithumb.com/v1", markets=("KRW-BTC",))
    return Settings(exchanges=(upbit, bithumb), web=WebSettings(stale_after_s=stale_after_s))


def connection(exchange: str, codes: tuple[str, ...], state: str = "CONNECTED", reason: str = "",
               received: int = 100, now_us: int = NOW_US) -> dict[str, Any]:
    return {"exchange": exchange, "state": state, "codes": codes, "received": received, "malformed": 0,
            "duplicates": 0, "reconnects": 0, "last_message_us": now_us - US, "since_us": now_us - 30 * US,
            "reason": reason}


def snapshot(*, now_us: int = NOW_US, market_age_s: float = 1.0, running: bool = True,
             upbit_state: str = "CONNECTED", upbit_reason: str = "", consecutive_failures: int = 0,
             last_error: str = "", cause: str = "", failing_for_s: float = 0.0, total_received: int = 300, total_published: int = 290,
             started_us: int | None = None) -> StatusSnapshot:
    last = now_us - int(market_age_s * US)
    return StatusSnapshot(
        started_us=started_us if started_us is not None else now_us - 600 * US,
        now_us=now_us,
        running=running,
        connections={
            "upbit-0": connection("upbit", ("KRW-BTC", "KRW-ETH"), upbit_state, upbit_reason, now_us=now_us),
            "bithumb-0": connection("bithumb", ("KRW-BTC",), now_us=now_us),
        },
        markets={"upbit:KRW-BTC": last, "upbit:KRW-ETH": last, "bithumb:KRW-BTC": last},
        buffer={"depth": {"trade": 3, "orderbook": 7}, "dropped": {"ttl_expired:orderbook": 2}},
        producers={
            "trade": {"succeeded": 100, "failed": 0, "consecutive_failures": 0, "last_error": ""},
            "orderbook": {"succeeded": 190, "failed": consecutive_failures,
                          "consecutive_failures": consecutive_failures, "last_error": last_error,
                          "cause": cause, "failing_for_s": failing_for_s},
        },
        total_received=total_received,
        total_published=total_published,
    )
