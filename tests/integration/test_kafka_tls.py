"""Publishing over TLS with client certificates, configured the way Heroku Kafka configures a dyno:
the settings loader reads a Heroku-style environment, the publisher sends over the broker's TLS
listener, and the records are read back over its plaintext listener."""
from __future__ import annotations

import stat
import time
import uuid
from pathlib import Path

import pytest

from domain.market_data import MarketDataMessage
from domain.settings import KafkaSettings
from publishers.kafka_publisher import KafkaPublisher
from settings.errors import SettingsError
from settings.loader import load_settings
from tests.support.kafka_broker import create_topic, read_all
from tests.support.kafka_tls import KEY_PASSWORD, TlsBroker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
REPO = Path(__file__).resolve().parents[2]
CODES = ("KRW-BTC", "KRW-ETH", "KRW-XRP")


def heroku_env(broker: TlsBroker, prefix: str, **extra: str) -> dict[str, str]:
    files = broker.files
    return {"KAFKA_URL": f"kafka+ssl://{broker.tls}", "KAFKA_TRUSTED_CERT": files.text(files.ca),
            "KAFKA_CLIENT_CERT": files.text(files.client_cert), "KAFKA_CLIENT_CERT_KEY": files.text(files.client_key),
            "KAFKA_PREFIX": prefix, "KRWFEED_KAFKA_SSL_PASSWORD": KEY_PASSWORD, **extra}


def load(env: dict[str, str], tmp_path: Path) -> KafkaSettings:
    return load_settings(REPO / "conf/prod.yaml", environ=env, dotenv_path=tmp_path / "none.env",
                         pem_dir=tmp_path).kafka


def records(n: int) -> list[MarketDataMessage]:
    now_us = time.time_ns() // 1000
    return [MarketDataMessage("upbit", "trade", CODES[i % len(CODES)], f"payload-{i}".encode(), now_us, i + 1)
            for i in range(n)]


def publish(settings: KafkaSettings, batch: list[MarketDataMessage]) -> tuple[int, int]:
    publisher = KafkaPublisher(settings, "trade")
    try:
        publisher.publish(batch)
        publisher.flush(15.0)
        snap = publisher.snapshot()
        return snap.succeeded, snap.failed
    finally:
        publisher.close(5.0)


def test_heroku_environment_publishes_over_tls_with_an_encrypted_client_key(
        kafka_tls_broker: TlsBroker, tmp_path: Path) -> None:
    prefix = f"tenant-{uuid.uuid4().hex[:6]}."
    settings = load(heroku_env(kafka_tls_broker, prefix), tmp_path)
    assert settings.bootstrap_servers == (kafka_tls_broker.tls,) and settings.security_protocol == "SSL"
    assert settings.ssl_check_hostname is False  # as Heroku documents; the chain is still verified
    for path in (settings.ssl_cafile, settings.ssl_certfile, settings.ssl_keyfile):
        assert path and stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    assert "ENCRYPTED PRIVATE KEY" in Path(settings.ssl_keyfile or "").read_text()
    topic = settings.topic_for("upbit", "trade")
    assert topic == prefix + "market.upbit.trade"
    create_topic(kafka_tls_broker.plaintext, topic, 3)

    batch = records(30)
    assert publish(settings, batch) == (30, 0)
    got = read_all(kafka_tls_broker.plaintext, topic, 30)
    assert sorted((r.key, r.value) for r in got) == sorted((r.code.encode(), r.raw_data) for r in batch)
    assert all(dict(r.headers)["schema"] == b"krwfeed.v1.Trade" for r in got)


def test_hostname_is_checked_when_asked_the_chain_and_client_certificate_always(kafka_tls_broker: TlsBroker, tmp_path: Path) -> None:
    prefix = f"tenant-{uuid.uuid4().hex[:6]}."
    checked = load(heroku_env(kafka_tls_broker, prefix, KRWFEED_KAFKA_SSL_CHECK_HOSTNAME="true"), tmp_path / "a")
    topic = checked.topic_for("upbit", "trade")
    create_topic(kafka_tls_broker.plaintext, topic, 3)
    # the broker's certificate names broker.invalid, not 127.0.0.1
    assert publish(checked, records(5)) == (0, 5)
    files = kafka_tls_broker.files
    strange_ca = load(heroku_env(kafka_tls_broker, prefix, KAFKA_TRUSTED_CERT=files.text(files.other_ca)),
                      tmp_path / "b")
    assert publish(strange_ca, records(5)) == (0, 5)
    anonymous = {k: v for k, v in heroku_env(kafka_tls_broker, prefix).items()
                 if k not in ("KAFKA_CLIENT_CERT", "KAFKA_CLIENT_CERT_KEY", "KRWFEED_KAFKA_SSL_PASSWORD")}
    assert publish(load(anonymous, tmp_path / "c"), records(5)) == (0, 5)  # the broker requires a client certificate
    assert read_all(kafka_tls_broker.plaintext, topic, 30) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"KRWFEED_KAFKA_SSL_PASSWORD": "wrong-password"}, "KAFKA_CLIENT_CERT / KAFKA_CLIENT_CERT_KEY = <not shown>"),
    ({"KRWFEED_KAFKA_SSL_PASSWORD": ""}, "KRWFEED_KAFKA_SSL_PASSWORD = <missing>: the password of the encrypted key"),
    ({"KAFKA_TRUSTED_CERT": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"},
     "KAFKA_TRUSTED_CERT = <not shown>: PEM CA certificates"),
])
def test_bad_tls_material_is_refused_at_load_without_showing_it(
        kafka_tls_broker: TlsBroker, tmp_path: Path, change: dict[str, str], expected: str) -> None:
    env = {k: v for k, v in {**heroku_env(kafka_tls_broker, "t."), **change}.items() if v}
    with pytest.raises(SettingsError) as info:
        load(env, tmp_path)
    message = str(info.value)
    assert expected in message and len(message.splitlines()) == 1, message
    key_body = kafka_tls_broker.files.text(kafka_tls_broker.files.client_key).splitlines()[1]
    assert KEY_PASSWORD not in message and "wrong-password" not in message and key_body not in message
