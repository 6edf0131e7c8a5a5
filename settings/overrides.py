"""Command-line overrides applied to the parsed YAML before validation, so they are checked the same way."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Overrides:
    markets: tuple[str, ...] = ()  # "KRW-BTC" for every exchange, or "upbit:KRW-BTC" for one
    kafka_bootstrap: tuple[str, ...] = ()
    log_level: str | None = None
    web_host: str | None = None
    web_port: int | None = None
    admin_port: int | None = None


def apply_overrides(doc: dict[str, Any], ov: Overrides) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    if ov.markets and isinstance(out.get("exchanges"), list):
        targeted: dict[str, list[str]] = {}
        shared: list[str] = []
        for item in ov.markets:
            exchange, sep, code = item.partition(":")
            if sep:
                targeted.setdefault(exchange.strip().lower(), []).append(code)
            else:
                shared.append(item)
        for entry in out["exchanges"]:
            if isinstance(entry, dict):
                chosen = shared + targeted.get(str(entry.get("name", "")).lower(), [])
                if chosen:
                    entry["markets"] = chosen
    if ov.kafka_bootstrap:
        _section(out, "kafka")["bootstrap_servers"] = list(ov.kafka_bootstrap)
    if ov.log_level:
        _section(out, "log")["level"] = ov.log_level
    if ov.web_host is not None:
        _section(out, "web")["host"] = ov.web_host
    if ov.web_port is not None:
        _section(out, "web")["port"] = ov.web_port
    if ov.admin_port is not None:
        out["admin_port"] = ov.admin_port
    return out


def _section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    if not isinstance(doc.get(name), dict):
        doc[name] = {}
    section: dict[str, Any] = doc[name]
    return section
