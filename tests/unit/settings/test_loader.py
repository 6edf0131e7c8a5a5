"""Settings from YAML + environment (seed S4.1, S4.2, S3.2)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from domain.settings import Secret, Settings
from settings.errors import SettingsError
from settings.loader import load_settings
from settings.overrides import Overrides

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]

BASE = """
exchanges:
  - name: upbit
    ws_url: wss://api.upbit.com/websocket/v1
    rest_url: https://api.upbit.com
    markets: [KRW-BTC, krw-eth, KRW-BTC]
    markets_per_connection: 7
    ping_interval_s: 40
    max_reconnect_attempts: 3
kafka:
  bootstrap_servers: [10.0.0.5:9093, 10.0.0.6:9093]
  linger_ms: 7
  pull_batch_size: 250
buffer: {capacity: 5000, ttl_s: {trade: 2.5}}
web: {port: 9999}
log: {level: debug, file: /tmp/krwfeed.log, file_max_bytes: 20000, file_backups: 3}
progress_every: 500
admin_port: 19876
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    return path


def load(path: Path, **kw: Any) -> Settings:
    kw.setdefault("environ", {})
    kw.setdefault("dotenv_path", path.parent / "none.env")
    return load_settings(path, **kw)


def error_of(tmp_path: Path, text: str, **kw: object) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        load(path, **kw)
    return str(info.value)


def test_at_least_once_buffer_keeps_trades_for_the_client_s_delivery_timeout(tmp_path: Path) -> None:
    s = load(write(tmp_path, BASE.replace("  pull_batch_size: 250\n", "  pull_batch_size: 250\n  delivery: at_least_once\n")))
    assert s.kafka.delivery == "at_least_once"
    assert s.buffer.ttl_s == {"orderbook": 1.0, "trade": 300.0}  # configured 2.5: the client retries 300 s
    assert s.buffer.keep_at_capacity == "trade"  # and a full buffer keeps trades
    default = load(write(tmp_path, BASE)).buffer
    assert default.ttl_s == {"orderbook": 1.0, "trade": 2.5} and default.keep_at_capacity == "orderbook"


def test_S4_1_a_S4_2_a_yaml_values_reach_the_settings_exactly(tmp_path: Path) -> None:
    s = load(write(tmp_path, BASE))
    ex = s.exchanges[0]
    assert ex.markets == ("KRW-BTC", "KRW-ETH")  # upper-cased (S1.2-d), duplicates removed (S1.3-c)
    assert (ex.markets_per_connection, ex.ping_interval_s, ex.max_reconnect_attempts) == (7, 40.0, 3)
    assert s.kafka.bootstrap_servers == ("10.0.0.5:9093", "10.0.0.6:9093")
    assert (s.kafka.linger_ms, s.kafka.pull_batch_size) == (7, 250)
    assert s.buffer.capacity == 5000 and s.buffer.ttl_s == {"orderbook": 1.0, "trade": 2.5}
    assert s.buffer.linger_ms == 10.0  # the default
    assert s.web.port == 9999
    assert (s.log.level, s.log.file, s.log.file_max_bytes, s.log.file_backups) == ("DEBUG", "/tmp/krwfeed.log",
                                                                                  20000, 3)
    assert (s.progress_every, s.admin_port, s.source) == (500, 19876, str(tmp_path / "conf.yaml"))


def test_S2_4_a_producer_defaults_are_the_seed_values(tmp_path: Path) -> None:
    k = load(write(tmp_path, BASE.replace("  linger_ms: 7\n", ""))).kafka
    assert (k.linger_ms, k.acks, k.batch_size, k.compression_type) == (5, "all", 16384, "lz4")
    assert (k.max_in_flight_requests_per_connection, k.retries, k.request_timeout_ms) == (5, 0, 500)
    assert (k.client_id, k.enable_idempotence, k.max_consecutive_failures) == ("data-ingestion-connector", False, 10)
    assert (k.client, k.max_outage_s, k.reconnect_backoff_max_ms) == ("kafka-python", 120.0, 1000)


def test_kafka_client_and_outage_bound_are_settings(tmp_path: Path) -> None:
    text = BASE.replace("  linger_ms: 7\n", "  linger_ms: 7\n  client: confluent-kafka\n  max_outage_s: 30\n")
    k = load(write(tmp_path, text)).kafka
    assert (k.client, k.max_outage_s) == ("confluent-kafka", 30.0)
    message = error_of(tmp_path, BASE.replace("  linger_ms: 7\n", "  linger_ms: 7\n  client: librdkafka\n"))
    assert "kafka.client = 'librdkafka'" in message and "kafka-python, confluent-kafka" in message
    message = error_of(tmp_path, BASE.replace("  linger_ms: 7\n", "  linger_ms: 7\n  max_outage_s: 0\n"))
    assert "kafka.max_outage_s = 0" in message


def test_S4_1_b_cli_overrides_markets_kafka_and_log_level(tmp_path: Path) -> None:
    ov = Overrides(markets=("krw-xrp", "upbit:KRW-SOL"), kafka_bootstrap=("127.0.0.1:29092",), log_level="ERROR")
    s = load(write(tmp_path, BASE), overrides=ov)
    assert s.exchanges[0].markets == ("KRW-XRP", "KRW-SOL")
    assert s.kafka.bootstrap_servers == ("127.0.0.1:29092",)
    assert s.log.level == "ERROR"


def test_shipped_configs_are_valid() -> None:
    prod = load_settings(REPO / "conf/prod.yaml", environ={})
    assert {e.name for e in prod.exchanges} == {"upbit", "bithumb"}
    assert prod.exchanges[0].ws_url == "wss://api.upbit.com/websocket/v1"
    assert prod.exchanges[1].ws_url == "wss://ws-api.bithumb.com/websocket/v1"
    assert len(prod.exchanges[0].markets) >= 20
    dev = load_settings(REPO / "conf/dev.yaml", environ={})
    assert all(e.ws_url.startswith("ws://127.0.0.1:") for e in dev.exchanges)


@pytest.mark.parametrize(("replace", "key", "allowed"), [
    ("markets: [KRW-BTC, krw-eth, KRW-BTC]", "exchanges[0].markets[1] = 'BTC-KRW'", "QUOTE-BASE"),
    ("name: upbit", "exchanges[0].name = 'upbitt'", "one of: upbit, bithumb"),
    ("ws_url: wss://api.upbit.com/websocket/v1", "exchanges[0].ws_url = 'https://api.upbit.com'", "ws://"),
    ("ping_interval_s: 40", "exchanges[0].ping_interval_s = 5", "seconds from 30"),
    ("linger_ms: 7", "kafka.linger_ms = -1", "milliseconds from 0 to 1000"),
    ("[10.0.0.5:9093, 10.0.0.6:9093]", "kafka.bootstrap_servers[0] = 'localhost'", "host:port"),
    ("admin_port: 19876", "admin_port = 80", "a TCP port from 1024"),
    ("level: debug", "log.level = 'LOUD'", "DEBUG, INFO"),
    ("capacity: 5000", "buffer.capacity = 'many'", "an integer"),
    ("ttl_s: {trade: 2.5}", "buffer.linger_ms = 500", "milliseconds from 1 to 100"),
])
def test_S4_1_c_S4_2_d_error_names_file_key_value_and_what_is_allowed(
        tmp_path: Path, replace: str, key: str, allowed: str) -> None:
    bad = {"markets: [KRW-BTC, krw-eth, KRW-BTC]": "markets: [KRW-BTC, BTC-KRW]",
           "name: upbit": "name: upbitt",
           "ws_url: wss://api.upbit.com/websocket/v1": "ws_url: https://api.upbit.com",
           "ping_interval_s: 40": "ping_interval_s: 5",
           "linger_ms: 7": "linger_ms: -1",
           "[10.0.0.5:9093, 10.0.0.6:9093]": "[localhost]",
           "admin_port: 19876": "admin_port: 80",
           "level: debug": "level: LOUD",
           "capacity: 5000": "capacity: many",
           "ttl_s: {trade: 2.5}": "ttl_s: {trade: 2.5}, linger_ms: 500"}[replace]
    message = error_of(tmp_path, BASE.replace(replace, bad))
    line = next(x for x in message.splitlines() if key in x)
    assert str(tmp_path / "conf.yaml") in line and allowed in line


def test_S3_2_a_empty_markets_rejected(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE.replace("[KRW-BTC, krw-eth, KRW-BTC]", "[]"))
    assert "exchanges[0].markets = []" in message and "non-empty" in message


def test_S3_2_b_reversed_market_code_rejected(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE.replace("krw-eth", "BTC-KRW"))
    assert "exchanges[0].markets[1] = 'BTC-KRW'" in message


def test_unknown_key_is_an_error_not_ignored(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE.replace("progress_every: 500", "progres_every: 500"))
    assert "progres_every = 500" in message and "unknown key" in message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "exchanges: [\n  - name: upbit\n")
    assert "line" in message and "valid YAML" in message


def test_missing_file_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="a readable YAML file"):
        load_settings(tmp_path / "absent.yaml", environ={})


def test_S1_3_e_secret_in_yaml_is_an_error_and_not_echoed(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE.replace("  linger_ms: 7", "  linger_ms: 7\n  sasl_password: s3cr3t-value"))
    assert "kafka.sasl_password" in message and "KRWFEED_KAFKA_SASL_PASSWORD" in message
    assert "s3cr3t-value" not in message
    message = error_of(tmp_path, BASE.replace("progress_every: 500", "api_key: abcdef\nprogress_every: 500"))
    assert "api_key" in message and "abcdef" not in message


SASL = BASE.replace("  linger_ms: 7", "  linger_ms: 7\n  security_protocol: SASL_PLAINTEXT\n  sasl_mechanism: PLAIN")


def test_S4_2_b_secrets_from_environment(tmp_path: Path) -> None:
    env = {"KRWFEED_KAFKA_SASL_USERNAME": "feeder", "KRWFEED_KAFKA_SASL_PASSWORD": "pa55-word"}
    k = load(write(tmp_path, SASL), environ=env).kafka
    assert k.sasl_username == "feeder"
    assert isinstance(k.sasl_password, Secret) and k.sasl_password.value == "pa55-word"
    assert "pa55-word" not in repr(k)


def test_S4_2_b_secrets_from_dotenv_file_and_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("KRWFEED_KAFKA_SASL_USERNAME=fromfile\nKRWFEED_KAFKA_SASL_PASSWORD=filepass\n")
    k = load(write(tmp_path, SASL), environ={}, dotenv_path=dotenv).kafka
    assert k.sasl_password is not None
    assert (k.sasl_username, k.sasl_password.value) == ("fromfile", "filepass")
    k = load(write(tmp_path, SASL), environ={"KRWFEED_KAFKA_SASL_PASSWORD": "envpass"}, dotenv_path=dotenv).kafka
    assert k.sasl_password is not None and k.sasl_password.value == "envpass"


def test_sasl_without_password_in_environment_is_an_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, SASL, environ={"KRWFEED_KAFKA_SASL_USERNAME": "feeder"})
    assert "kafka.sasl_password" in message and "KRWFEED_KAFKA_SASL_PASSWORD" in message


def test_tls_file_from_environment_must_exist(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE, environ={"KRWFEED_KAFKA_SSL_CAFILE": str(tmp_path / "nope.pem")})
    assert "kafka.ssl_cafile" in message and "an existing file" in message


def test_delivery_timeout_must_cover_linger_and_request_timeout(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE.replace("  linger_ms: 7", "  linger_ms: 7\n  delivery_timeout_ms: 300"))
    assert "kafka.delivery_timeout_ms = 300" in message and ">= linger_ms + request_timeout_ms (507)" in message


def test_events_are_on_by_default_can_be_turned_off_and_follow_the_topic_prefix(tmp_path: Path) -> None:
    k = load(write(tmp_path, BASE)).kafka
    assert k.events is True and k.events_topic("upbit") == "market.upbit.events"
    off = load(write(tmp_path, BASE.replace("  linger_ms: 7\n", "  linger_ms: 7\n  events: false\n"))).kafka
    assert off.events is False
    prefixed = load(write(tmp_path, BASE), environ={"KAFKA_PREFIX": "olympia-12."}).kafka
    assert prefixed.events_topic("bithumb") == "olympia-12.market.bithumb.events"
    message = error_of(tmp_path, BASE.replace("  linger_ms: 7\n", "  linger_ms: 7\n  events: maybe\n"))
    assert "kafka.events = 'maybe'" in message and "true" in message
