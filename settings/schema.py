"""Marshmallow schemas for the YAML configuration. They validate and return plain dicts; the loader
turns those into ``domain.settings`` dataclasses. Unknown keys are errors (a typo must not be
silently ignored)."""
from __future__ import annotations

import dataclasses
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from domain.capabilities import (
    DATA_TYPES,
    EXCHANGE_NAMES,
    MARKETS_ALL,
    MAX_MARKETS_PER_EXCHANGE,
    MAX_MARKETS_REFRESH_S,
    MIN_MARKETS_REFRESH_S,
    config_problems,
)
from domain.config import (
    MAX_BACKFILL_BUDGET,
    MAX_BACKOFF_S,
    MAX_FRAME_BYTES,
    MIN_FRAME_BYTES,
    MIN_PING_INTERVAL_S,
    ExchangeConfig,
    timing_problems,
)
from domain.exceptions import ValidationException
from domain.market_data import normalise_code
from settings.fields import HostPort, Markets, Scalar, UpperString, flag, number, text, url

EXCHANGES_TEXT = "one of: " + ", ".join(EXCHANGE_NAMES)
_CONFIG_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ExchangeConfig)}
KAFKA_CLIENTS = ("kafka-python", "confluent-kafka")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ExchangeSchema(_Strict):
    name = text(EXCHANGES_TEXT, required=True, choices=EXCHANGE_NAMES)
    ws_url = url(("ws", "wss"))
    rest_url = url(("http", "https"))
    markets = Markets(MAX_MARKETS_PER_EXCHANGE, required=True, error_messages={
        "required": "required; 'all' or a non-empty list of market codes such as [KRW-BTC]"})
    # "exclude" is a name Schema itself uses: the field reads the key under another attribute name.
    exclude_codes = fields.List(UpperString(error_messages={"invalid": "a market code QUOTE-BASE such as KRW-BTC"}),
                          data_key="exclude", error_messages={"invalid": "a list of market codes never to follow, e.g. [KRW-XRP]"})
    markets_refresh_s = number(f"seconds from {MIN_MARKETS_REFRESH_S:g} to {MAX_MARKETS_REFRESH_S:g}",
                               lo=MIN_MARKETS_REFRESH_S, hi=MAX_MARKETS_REFRESH_S)
    data_types = fields.List(
        text("trade or orderbook", choices=DATA_TYPES),
        validate=validate.Length(min=1, error="a non-empty list drawn from: trade, orderbook"),
    )
    # Which formats, depths and connection sizes are allowed depends on the exchange: checked in _check.
    format = text("DEFAULT or SIMPLE", upper=True)
    orderbook_depth = fields.Integer(allow_none=True, strict=True,
                                     error_messages={"invalid": "null or an orderbook depth such as 15"})
    markets_per_connection = number("an integer >= 1", lo=1, integer=True)
    ping_interval_s = number(f"seconds from {MIN_PING_INTERVAL_S:g} to 120 (pinging faster only adds traffic)",
                             lo=MIN_PING_INTERVAL_S, hi=120)
    pong_timeout_s = number("seconds, more than 0 and at most 120", lo=0, hi=120, min_inclusive=False)
    stale_timeout_s = number("seconds, more than 0 and at most 600", lo=0, hi=600, min_inclusive=False)
    idle_timeout_s = number("seconds, more than 0 and at most 600", lo=0, hi=600, min_inclusive=False)
    connect_timeout_s = number("seconds, more than 0 and at most 60", lo=0, hi=60, min_inclusive=False)
    max_reconnect_attempts = number("an integer >= 0 (0 = retry forever)", lo=0, integer=True)
    backoff_initial_s = number("seconds, more than 0 and at most 60", lo=0, hi=60, min_inclusive=False)
    backoff_factor = number("a factor from 1 to 10", lo=1, hi=10)
    backoff_max_s = number(f"seconds, more than 0 and at most {MAX_BACKOFF_S:g}", lo=0, hi=MAX_BACKOFF_S,
                           min_inclusive=False)
    backoff_jitter = number("a fraction from 0 to 0.5", lo=0, hi=0.5)
    quote_currencies = fields.List(UpperString(), validate=validate.Length(min=1))
    max_frame_bytes = number(f"bytes, an integer from {MIN_FRAME_BYTES} to {MAX_FRAME_BYTES}", lo=MIN_FRAME_BYTES,
                             hi=MAX_FRAME_BYTES, integer=True)
    backfill = flag()
    backfill_budget = number(f"an integer from 0 to {MAX_BACKFILL_BUDGET} (REST requests per reconnect)", lo=0,
                             hi=MAX_BACKFILL_BUDGET, integer=True)
    # A CA bundle that replaces the system trust store for this exchange (private TLS proxies).
    tls_ca_file = fields.String(allow_none=True, validate=validate.Length(
        min=1, error="null or the path of a PEM CA bundle"))

    @validates_schema(skip_on_field_errors=True)
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, Any] = {}
        quotes = tuple(data.get("quote_currencies", ("KRW",)))
        listed = data["markets"] != MARKETS_ALL
        for key, attr in (("markets", "markets"), ("exclude", "exclude_codes"))[0 if listed else 1:]:
            bad = _bad_codes(data.get(attr, ()), quotes)
            if bad:
                errors[key] = bad
        if listed and not errors and not set(data["markets"]) - set(data.get("exclude_codes", ())):
            errors["exclude"] = ["codes to leave out of markets; it must leave at least one"]
        problems = config_problems(
            data["name"], data_types=data.get("data_types"), fmt=data.get("format"),
            orderbook_depth=data.get("orderbook_depth"), markets=len(set(data["markets"])) if listed else None,
            markets_per_connection=data.get("markets_per_connection"))  # unset: the exchange's own limit
        for key, allowed in problems.items():
            errors.setdefault(key, [allowed])
        timing = {key: data.get(key, _CONFIG_DEFAULTS[key]) for key in (
            "ping_interval_s", "pong_timeout_s", "idle_timeout_s", "backoff_initial_s", "backoff_max_s")}
        for key, allowed in timing_problems(**timing).items():
            errors[key] = [allowed]
        if errors:
            raise ValidationError(errors)


def _bad_codes(codes: list[str], quotes: tuple[str, ...]) -> dict[int, list[str]]:
    bad: dict[int, list[str]] = {}
    for i, code in enumerate(codes):
        try:
            normalise_code(code, quotes)
        except ValidationException as exc:
            bad[i] = [f"a market code QUOTE-BASE with QUOTE in {', '.join(quotes)}, e.g. KRW-BTC "
                      f"({exc.message})"]
    return bad


class KafkaSchema(_Strict):
    client = text("one of: kafka-python, confluent-kafka", choices=KAFKA_CLIENTS)
    delivery = text("one of: at_most_once, at_least_once", choices=("at_most_once", "at_least_once"))
    bootstrap_servers = fields.List(HostPort(), validate=validate.Length(
        min=1, error="a non-empty list of host:port, e.g. [127.0.0.1:9092]"))
    topic_template = text("a topic name template using {exchange} and {data_type}")
    client_id = text("a non-empty client id")
    acks = Scalar(validate=validate.OneOf(("all", "-1", "0", "1"), error="all, -1, 0 or 1"),
                  error_messages={"invalid": "all, -1, 0 or 1"})
    linger_ms = number("milliseconds from 0 to 1000", lo=0, hi=1000, integer=True)
    batch_size = number("bytes from 1024 to 1048576", lo=1024, hi=1_048_576, integer=True)
    compression_type = text("one of: lz4, gzip", choices=("lz4", "gzip"))
    max_in_flight_requests_per_connection = number("an integer from 1 to 5", lo=1, hi=5, integer=True)
    retries = number("an integer >= 0", lo=0, integer=True)
    request_timeout_ms = number("milliseconds from 100 to 60000", lo=100, hi=60_000, integer=True)
    delivery_timeout_ms = number("milliseconds from 100 to 300000", lo=100, hi=300_000, integer=True)
    max_block_ms = number("milliseconds from 0 to 60000", lo=0, hi=60_000, integer=True)
    api_version = fields.List(fields.Integer(strict=True), validate=validate.Length(
        min=2, max=3, error="a version as a list of 2 or 3 integers, e.g. [4, 0]"))
    enable_idempotence = fields.Boolean(validate=validate.Equal(
        False, error="false (retries=0 makes idempotence impossible)"))
    max_consecutive_failures = number("an integer from 1 to 1000", lo=1, hi=1000, integer=True)
    max_outage_s = number("seconds from 1 to 3600", lo=1, hi=3600)
    reconnect_backoff_max_ms = number("milliseconds from 50 to 60000", lo=50, hi=60_000, integer=True)
    pull_batch_size = number("null (derived from batch_size) or an integer from 1 to 10000", lo=1, hi=10_000,
                             integer=True, allow_none=True)
    security_protocol = text("one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", upper=True,
                             choices=("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"))
    events = flag("true (connection and gap events on each exchange's events topic) or false")
    sasl_mechanism = text("null or one of: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", upper=True, allow_none=True,
                          choices=("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"))

    @validates_schema(skip_on_field_errors=True)
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        tpl = data.get("topic_template")
        if tpl is not None:
            try:
                tpl.format(exchange="upbit", data_type="trade")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValidationError({"topic_template": [
                    "a template using only {exchange} and {data_type}"]}) from exc
        floor = data.get("linger_ms", 5) + data.get("request_timeout_ms", 500)
        if data.get("delivery_timeout_ms", 3000) < floor:
            raise ValidationError({"delivery_timeout_ms": [
                f"milliseconds >= linger_ms + request_timeout_ms ({floor})"]})
        proto = data.get("security_protocol", "PLAINTEXT")
        if proto.startswith("SASL") and not data.get("sasl_mechanism"):
            raise ValidationError({"sasl_mechanism": [f"one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 "
                                                      f"(security_protocol is {proto})"]})


class BufferSchema(_Strict):
    capacity = number("an integer from 100 to 10000000", lo=100, hi=10_000_000, integer=True)
    linger_ms = number("milliseconds from 1 to 100", lo=1, hi=100)
    ttl_s = fields.Dict(
        keys=fields.String(validate=validate.OneOf(DATA_TYPES, error="trade or orderbook")),
        values=number("seconds, more than 0 and at most 60", lo=0, hi=60, min_inclusive=False),
    )


class WebSchema(_Strict):
    host = text("an interface address such as 127.0.0.1 or 0.0.0.0")
    port = number("a TCP port from 1 to 65535", lo=1, hi=65535, integer=True)
    stale_after_s = number("seconds, more than 0", lo=0, min_inclusive=False)
    auth_scope = text("dashboard (KRWFEED_WEB_TOKEN guards the dashboard and /api/status) or all "
                      "(every endpoint, /health and /metrics too)", choices=("dashboard", "all"))


class LogSchema(_Strict):
    level = text("one of: DEBUG, INFO, WARNING, ERROR, CRITICAL", upper=True,
                 choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    json = flag()
    file = text("a file path, or null for stdout only", allow_none=True)
    file_max_bytes = number("bytes from 10000 to 1000000000", lo=10_000, hi=1_000_000_000, integer=True)
    file_backups = number("an integer from 1 to 100", lo=1, hi=100, integer=True)


class SettingsSchema(_Strict):
    exchanges = fields.List(fields.Nested(ExchangeSchema), required=True, validate=validate.Length(
        min=1, error="a non-empty list of exchanges (upbit and/or bithumb)"),
        error_messages={"required": "required; a list of exchanges (upbit and/or bithumb)"})
    kafka = fields.Nested(KafkaSchema)
    buffer = fields.Nested(BufferSchema)
    web = fields.Nested(WebSchema)
    log = fields.Nested(LogSchema)
    progress_every = number("an integer from 1 to 10000000", lo=1, hi=10_000_000, integer=True)
    admin_port = number("a TCP port from 1024 to 65535", lo=1024, hi=65535, integer=True)

    @validates_schema(skip_on_field_errors=True)
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        names = [e["name"] for e in data["exchanges"]]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValidationError({"exchanges": [f"each exchange at most once (repeated: {', '.join(sorted(dup))})"]})
