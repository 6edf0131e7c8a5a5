"""Where the Kafka cluster is, from the environment: krwfeed's own variables and Heroku Kafka's.

Precedence, highest first: the command line, ``KRWFEED_KAFKA_*``, Heroku's ``KAFKA_*``, the YAML
file. The values go into the YAML document's ``kafka`` section before validation, so they are
checked by the same schema; ``origins`` remembers which variable set which key, so an error names
the variable rather than a key the file does not contain.

Heroku Kafka (devcenter.heroku.com/articles/kafka-on-heroku) sets:

* ``KAFKA_URL``: comma-separated ``kafka+ssl://host:port`` URLs (``kafka://`` where plaintext is
  offered, in Private Spaces);
* ``KAFKA_TRUSTED_CERT``: the CA certificate the brokers' chains verify against (PEM text);
* ``KAFKA_CLIENT_CERT`` and ``KAFKA_CLIENT_CERT_KEY``: the client certificate and key (PEM text);
* ``KAFKA_PREFIX``: the prefix every topic name of a multi-tenant plan must carry.

Heroku's broker certificates do not name the brokers' hosts, so its documentation turns hostname
verification off and verifies the chain against ``KAFKA_TRUSTED_CERT``; krwfeed does the same when
the CA comes from that variable (``KRWFEED_KAFKA_SSL_CHECK_HOSTNAME`` decides otherwise).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from settings.errors import SettingsProblem, show_value

PREFIX = "KRWFEED_KAFKA_"
BOOTSTRAP = PREFIX + "BOOTSTRAP"
SECURITY_PROTOCOL = PREFIX + "SECURITY_PROTOCOL"
SASL_MECHANISM = PREFIX + "SASL_MECHANISM"
CHECK_HOSTNAME = PREFIX + "SSL_CHECK_HOSTNAME"
HEROKU_URL = "KAFKA_URL"
HEROKU_PREFIX = "KAFKA_PREFIX"
# kafka settings key -> the Heroku variable holding that file's PEM text
HEROKU_PEM = {
    "ssl_cafile": "KAFKA_TRUSTED_CERT",
    "ssl_certfile": "KAFKA_CLIENT_CERT",
    "ssl_keyfile": "KAFKA_CLIENT_CERT_KEY",
}
# Every variable read here (the secrets and TLS file paths are in settings/secrets.py).
VARIABLES: tuple[str, ...] = (BOOTSTRAP, SECURITY_PROTOCOL, SASL_MECHANISM, CHECK_HOSTNAME, HEROKU_URL,
                              HEROKU_PREFIX, *HEROKU_PEM.values())
_URL_SCHEMES = {"kafka+ssl": "SSL", "kafka": "PLAINTEXT"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class KafkaEnvironment:
    kafka: dict[str, Any] = field(default_factory=dict)  # kafka section keys to set before validation
    origins: dict[str, str] = field(default_factory=dict)  # kafka key -> the variable it came from
    pem: dict[str, tuple[str, str]] = field(default_factory=dict)  # ssl_*file key -> (variable, PEM text)
    topic_prefix: str = ""
    check_hostname: bool | None = None  # None: the default for where the CA came from


def kafka_environment(env: Mapping[str, str]) -> tuple[KafkaEnvironment, list[SettingsProblem]]:
    """Pure: the environment's Kafka settings, and the problems found in it."""
    kafka: dict[str, Any] = {}
    origins: dict[str, str] = {}
    problems: list[SettingsProblem] = []

    def put(key: str, value: Any, origin: str) -> None:
        kafka[key] = value
        origins[key] = origin

    url = env.get(HEROKU_URL, "").strip()
    if url:
        servers, protocol, problem = _parse_heroku_urls(url)
        if problem:
            problems.append(SettingsProblem(HEROKU_URL, show_value(url), problem))
        else:
            put("bootstrap_servers", servers, HEROKU_URL)
            put("security_protocol", protocol, HEROKU_URL)
    bootstrap = env.get(BOOTSTRAP, "").strip()
    if bootstrap:
        put("bootstrap_servers", [s.strip() for s in bootstrap.split(",") if s.strip()], BOOTSTRAP)
    for var, key in ((SECURITY_PROTOCOL, "security_protocol"), (SASL_MECHANISM, "sasl_mechanism")):
        if env.get(var, "").strip():
            put(key, env[var].strip(), var)

    pem = {key: (var, env[var]) for key, var in HEROKU_PEM.items() if env.get(var, "").strip()}
    for key, (var, text) in pem.items():
        if "-----BEGIN " not in text:
            problems.append(SettingsProblem(var, "<not shown>", "PEM text (-----BEGIN ...), not a file path; "
                                                               f"for a file use KRWFEED_KAFKA_{key.upper()}"))

    check_hostname: bool | None = None
    raw = env.get(CHECK_HOSTNAME, "").strip().lower()
    if raw in _TRUE:
        check_hostname = True
    elif raw in _FALSE:
        check_hostname = False
    elif raw:
        problems.append(SettingsProblem(CHECK_HOSTNAME, show_value(env[CHECK_HOSTNAME]), "true or false"))

    prefix = env.get(HEROKU_PREFIX, "").strip()
    if prefix and ("{" in prefix or "}" in prefix):
        problems.append(SettingsProblem(HEROKU_PREFIX, show_value(prefix), "a topic name prefix without braces"))
        prefix = ""
    return KafkaEnvironment(kafka, origins, pem, prefix, check_hostname), problems


def _parse_heroku_urls(text: str) -> tuple[list[str], str, str]:
    """(host:port list, security protocol, problem or "")."""
    allowed = "comma-separated kafka+ssl://host:port URLs"
    servers: list[str] = []
    protocols = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        parsed = urlsplit(part)
        try:
            port = parsed.port
        except ValueError:
            return [], "", allowed + " (with a valid port)"
        if parsed.scheme not in _URL_SCHEMES or not parsed.hostname or not port:
            return [], "", allowed
        protocols.add(_URL_SCHEMES[parsed.scheme])
        host = f"[{parsed.hostname}]" if ":" in parsed.hostname else parsed.hostname
        servers.append(f"{host}:{port}")
    if not servers:
        return [], "", allowed
    if len(protocols) > 1:
        return [], "", allowed + " of one scheme (kafka+ssl:// and kafka:// mixed)"
    return servers, protocols.pop(), ""
