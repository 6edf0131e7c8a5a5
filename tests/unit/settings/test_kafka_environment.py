"""Kafka's location and security from the environment: KRWFEED_KAFKA_* and Heroku Kafka's variables."""
from __future__ import annotations

from pathlib import Path

import pytest

from domain.settings import KafkaSettings
from settings.errors import SettingsError
from settings.kafka_env import kafka_environment
from settings.loader import load_settings
from settings.overrides import Overrides

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]
PROD = REPO / "conf/prod.yaml"


def kafka_of(env: dict[str, str], tmp_path: Path, **kw: object) -> KafkaSettings:
    return load_settings(PROD, environ=env, dotenv_path=tmp_path / "none.env", pem_dir=tmp_path, **kw).kafka


def error_of(env: dict[str, str], tmp_path: Path) -> str:
    with pytest.raises(SettingsError) as info:
        kafka_of(env, tmp_path)
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    return message


def test_prod_yaml_alone_targets_the_local_broker(tmp_path: Path) -> None:
    k = kafka_of({}, tmp_path)
    assert (k.bootstrap_servers, k.security_protocol, k.sasl_mechanism) == (("127.0.0.1:9092",), "PLAINTEXT", None)
    assert k.topic_template == "market.{exchange}.{data_type}" and k.ssl_check_hostname is True


def test_krwfeed_variables_set_brokers_protocol_and_mechanism(tmp_path: Path) -> None:
    env = {"KRWFEED_KAFKA_BOOTSTRAP": "b1.example.com:9096, b2.example.com:9096",
           "KRWFEED_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "KRWFEED_KAFKA_SASL_MECHANISM": "scram-sha-512",
           "KRWFEED_KAFKA_SASL_USERNAME": "feeder", "KRWFEED_KAFKA_SASL_PASSWORD": "pw-123"}
    k = kafka_of(env, tmp_path)
    assert k.bootstrap_servers == ("b1.example.com:9096", "b2.example.com:9096")
    assert (k.security_protocol, k.sasl_mechanism, k.sasl_username) == ("SASL_SSL", "SCRAM-SHA-512", "feeder")
    assert k.ssl_check_hostname is True  # nothing pinned: names are checked


def test_heroku_kafka_url_and_prefix(tmp_path: Path) -> None:
    env = {"KAFKA_URL": "kafka+ssl://ec2-1-2-3-4.compute-1.amazonaws.com:9096,"
                        "kafka+ssl://ec2-5-6-7-8.compute-1.amazonaws.com:9096",
           "KAFKA_PREFIX": "olympia-1234."}
    k = kafka_of(env, tmp_path)
    assert k.bootstrap_servers == ("ec2-1-2-3-4.compute-1.amazonaws.com:9096", "ec2-5-6-7-8.compute-1.amazonaws.com:9096")
    assert k.security_protocol == "SSL"
    assert k.topic_for("upbit", "trade") == "olympia-1234.market.upbit.trade"


def test_precedence_cli_then_krwfeed_then_heroku_then_yaml(tmp_path: Path) -> None:
    env = {"KAFKA_URL": "kafka+ssl://heroku:9096", "KRWFEED_KAFKA_BOOTSTRAP": "own:9093"}
    assert kafka_of(env, tmp_path).bootstrap_servers == ("own:9093",)
    assert kafka_of(env, tmp_path).security_protocol == "SSL"  # from KAFKA_URL; KRWFEED_ set none
    cli = kafka_of(env, tmp_path, overrides=Overrides(kafka_bootstrap=("cli:9094",)))
    assert cli.bootstrap_servers == ("cli:9094",)
    assert kafka_of({"KAFKA_URL": "kafka+ssl://heroku:9096", "KRWFEED_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"},
                    tmp_path).security_protocol == "PLAINTEXT"


def test_dotenv_file_supplies_the_same_variables(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("KRWFEED_KAFKA_BOOTSTRAP=fromfile:9092\n")
    k = load_settings(PROD, environ={}, dotenv_path=dotenv, pem_dir=tmp_path).kafka
    assert k.bootstrap_servers == ("fromfile:9092",)


@pytest.mark.parametrize(("env", "expected"), [
    ({"KRWFEED_KAFKA_BOOTSTRAP": "nohostport"}, "kafka.bootstrap_servers[0] (from KRWFEED_KAFKA_BOOTSTRAP) = "
                                                "'nohostport': host:port"),
    ({"KRWFEED_KAFKA_SECURITY_PROTOCOL": "TLS"}, "kafka.security_protocol (from KRWFEED_KAFKA_SECURITY_PROTOCOL)"),
    ({"KRWFEED_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "kafka.sasl_mechanism = <missing>"),
    ({"KAFKA_URL": "https://broker:9096"}, "KAFKA_URL = 'https://broker:9096': comma-separated kafka+ssl://"),
    ({"KAFKA_URL": "kafka+ssl://a:9096,kafka://b:9092"}, "kafka+ssl:// and kafka:// mixed"),
    ({"KAFKA_URL": "kafka+ssl://a:99999"}, "with a valid port"),
    ({"KAFKA_TRUSTED_CERT": "/etc/ssl/ca.pem"}, "KAFKA_TRUSTED_CERT = <not shown>: PEM text"),
    ({"KRWFEED_KAFKA_SSL_CHECK_HOSTNAME": "maybe"}, "KRWFEED_KAFKA_SSL_CHECK_HOSTNAME = 'maybe': true or false"),
    ({"KRWFEED_KAFKA_SECURITY_PROTOCOL": "SSL", "KRWFEED_KAFKA_SSL_CHECK_HOSTNAME": "false"},
     "true unless a CA certificate is pinned"),
    ({"KAFKA_PREFIX": "bad{prefix}"}, "KAFKA_PREFIX = 'bad{prefix}'"),
])
def test_bad_environment_is_one_line_naming_the_variable(env: dict[str, str], expected: str, tmp_path: Path) -> None:
    assert expected in error_of(env, tmp_path)


def test_tls_text_without_ssl_protocol_is_an_error(tmp_path: Path) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    message = error_of({"KAFKA_TRUSTED_CERT": pem}, tmp_path)
    assert "kafka.security_protocol = 'PLAINTEXT': SSL or SASL_SSL" in message and "KAFKA_TRUSTED_CERT" in message
    assert "MIIB" not in message


def test_ssl_password_in_yaml_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text(PROD.read_text().replace("  security_protocol: PLAINTEXT",
                                             "  security_protocol: PLAINTEXT\n  ssl_password: hunter22"))
    with pytest.raises(SettingsError) as info:
        load_settings(conf, environ={}, dotenv_path=tmp_path / "none.env")
    assert "KRWFEED_KAFKA_SSL_PASSWORD" in str(info.value) and "hunter22" not in str(info.value)


def test_parsing_is_pure_and_reports_every_problem() -> None:
    parsed, problems = kafka_environment({"KAFKA_URL": "kafka+ssl://[::1]:9096", "KAFKA_PREFIX": "t."})
    assert problems == []
    assert parsed.kafka == {"bootstrap_servers": ["[::1]:9096"], "security_protocol": "SSL"}
    assert parsed.origins == {"bootstrap_servers": "KAFKA_URL", "security_protocol": "KAFKA_URL"}
    assert parsed.topic_prefix == "t."
    _, problems = kafka_environment({"KAFKA_URL": "x", "KRWFEED_KAFKA_SSL_CHECK_HOSTNAME": "2"})
    assert [p.key for p in problems] == ["KAFKA_URL", "KRWFEED_KAFKA_SSL_CHECK_HOSTNAME"]
