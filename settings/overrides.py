"""Command-line overrides applied to the parsed YAML before validation, so they are checked the same way."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from typing import Any

from settings.errors import SettingsProblem, show_value


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
        for entry in out["exchanges"]:
            if isinstance(entry, dict):
                chosen = _markets_for(str(entry.get("name", "")).lower(), ov)
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


def option_of(problem: SettingsProblem, doc: dict[str, Any], ov: Overrides) -> SettingsProblem:
    """``problem`` naming the command-line option that set the offending value, when one did; ``doc``
    is the YAML document before the overrides were applied."""
    key = problem.key
    option = None
    markets = re.match(r"exchanges\[(\d+)\]\.markets\b", key)
    if markets and ov.markets:
        entries = _exchange_entries(doc)
        index = int(markets.group(1))
        name = str(entries[index].get("name", "")).lower() if index < len(entries) else ""
        if _markets_for(name, ov):
            option = "--markets"
    elif key.startswith("kafka.bootstrap_servers") and ov.kafka_bootstrap:
        option = "--kafka-bootstrap"
    elif key == "log.level" and ov.log_level:
        option = "--log-level"
    elif key == "web.port" and ov.web_port is not None:
        option = "--port"
    elif key == "admin_port" and ov.admin_port is not None:
        option = "--admin-port"
    return replace(problem, option=option) if option else problem


def unknown_exchanges(doc: dict[str, Any], ov: Overrides) -> list[SettingsProblem]:
    """``--markets upbit:KRW-BTC`` for an exchange the file does not configure would be ignored
    silently: report it instead."""
    names = {str(e.get("name", "")).lower() for e in _exchange_entries(doc)}
    problems = []
    for item in ov.markets:
        exchange, sep, _ = item.partition(":")
        if sep and exchange.strip().lower() not in names:
            allowed = f"an exchange the configuration has ({', '.join(sorted(names)) or 'none'}) before ':'"
            problems.append(SettingsProblem("exchanges", show_value(item), allowed, option="--markets"))
    return problems


def _exchange_entries(doc: dict[str, Any]) -> list[dict[str, Any]]:
    entries = doc.get("exchanges")
    return [e if isinstance(e, dict) else {} for e in entries] if isinstance(entries, list) else []


def _markets_for(name: str, ov: Overrides) -> list[str]:
    shared = [item for item in ov.markets if ":" not in item]
    targeted = [code for exchange, sep, code in (item.partition(":") for item in ov.markets)
                if sep and exchange.strip().lower() == name]
    return shared + targeted


def _section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    if not isinstance(doc.get(name), dict):
        doc[name] = {}
    section: dict[str, Any] = doc[name]
    return section
