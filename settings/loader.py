"""``load_settings(path, overrides)``: YAML + environment -> validated ``domain.settings.Settings``."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError

from buffering.buffer_queue import keep_at_capacity_for, ttl_for_delivery
from domain.capabilities import MARKETS_ALL
from domain.config import ExchangeConfig
from domain.settings import BufferSettings, KafkaSettings, LogSettings, Secret, Settings, WebSettings
from publishers.kafka_config import delivery
from settings import bounded_yaml
from settings.errors import MISSING, SettingsError, SettingsProblem, show_value
from settings.kafka_env import KafkaEnvironment, kafka_environment
from settings.kafka_tls import check_tls, write_pem_files
from settings.overrides import Overrides, apply_overrides, option_of, unknown_exchanges
from settings.schema import SettingsSchema
from settings.secrets import (
    SECRET_ENV,
    WEB_TOKEN_ENV,
    WEB_TOKEN_MIN_LENGTH,
    find_secret_keys,
    merged_environment,
)
from supervision.connection_plan import process_limit_problem

_SECRET_KEYS = frozenset({"sasl_password", "ssl_password"})  # wrapped in Secret: masked in repr and logs
_TUPLE_KEYS = {"exclude", "data_types", "quote_currencies", "bootstrap_servers", "api_version"}


def load_settings(path: str | Path, overrides: Overrides | None = None, *,
                  environ: Mapping[str, str] | None = None,
                  dotenv_path: str | Path | None = None,
                  pem_dir: str | Path | None = None) -> Settings:
    """``pem_dir``: where PEM text from the environment is written (0600 files); by default a
    private temporary directory removed when the process exits."""
    source = str(path)
    doc = _read_yaml(source)
    secrets_found = find_secret_keys(doc)
    if secrets_found:
        raise SettingsError(source, [SettingsProblem(s.key, "<hidden>", s.allowed) for s in secrets_found])
    env = merged_environment(environ, dotenv_path)
    kafka_env, problems = kafka_environment(env)
    if problems:
        raise SettingsError(source, problems)
    overrides = overrides or Overrides()
    unknown = unknown_exchanges(doc, overrides)
    if unknown:
        raise SettingsError(source, unknown)
    merged = apply_overrides(_with_kafka_env(doc, kafka_env), overrides)
    origins = dict(kafka_env.origins)
    if overrides.kafka_bootstrap:
        origins.pop("bootstrap_servers", None)
    try:
        data = SettingsSchema().load(merged)
    except ValidationError as exc:
        problems = [_name_origin(option_of(p, doc, overrides), origins) for p in flatten_errors(exc.messages, merged)]
        raise SettingsError(source, problems) from None
    secrets = {key: env[var] for key, var in SECRET_ENV.items() if env.get(var)}
    if env.get(WEB_TOKEN_ENV):
        secrets["web_token"] = env[WEB_TOKEN_ENV]
    return _build(source, data, secrets, kafka_env, pem_dir)


def _with_kafka_env(doc: dict[str, Any], kafka_env: KafkaEnvironment) -> dict[str, Any]:
    if not kafka_env.kafka:
        return doc
    section = doc.get("kafka")
    return {**doc, "kafka": {**(section if isinstance(section, dict) else {}), **kafka_env.kafka}}


def _name_origin(problem: SettingsProblem, origins: Mapping[str, str]) -> SettingsProblem:
    """A problem in a value the environment supplied names that variable."""
    for key, var in origins.items():
        if problem.key == f"kafka.{key}" or problem.key.startswith(f"kafka.{key}["):
            return SettingsProblem(f"{problem.key} (from {var})", problem.value, problem.allowed)
    return problem


def _read_yaml(source: str) -> dict[str, Any]:
    try:
        text = bounded_yaml.read_text(source)
        doc = bounded_yaml.load(text)
    except bounded_yaml.Refusal as refusal:
        raise SettingsError(source, [SettingsProblem(refusal.where, refusal.value, refusal.allowed)]) from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        key = f"(line {where.line + 1}, column {where.column + 1})" if where else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SettingsError.single(source, key, "<unparsable>", f"valid YAML ({problem})") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an integer of 5,000 digits
        raise SettingsError.single(source, "(file)", "<unparsable>", f"valid YAML values ({exc})") from None
    if not isinstance(doc, dict):
        raise SettingsError.single(source, "(top level)", doc, "a mapping with at least an 'exchanges' key")
    return doc


def flatten_errors(messages: Any, doc: Any, path: str = "") -> list[SettingsProblem]:
    """marshmallow's nested error dict -> one problem per key path, with the offending value."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [SettingsProblem(path or "(top level)", show_value(_lookup(doc, path)), _describe(m))
                for m in messages]
    problems: list[SettingsProblem] = []
    items = messages.items() if isinstance(messages, dict) else enumerate(messages)
    for key, sub in items:
        if key == "_schema":
            problems.extend(flatten_errors(sub, doc, path))
            continue
        child = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
        problems.extend(flatten_errors(sub, doc, child))
    return problems


def _describe(message: str) -> str:
    if message == "Unknown field.":
        return "unknown key (a typo?); remove it or check the documented keys"
    return message


def _lookup(doc: Any, path: str) -> Any:
    node = doc
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            idx = int(part[1:-1])
            if not isinstance(node, list) or idx >= len(node):
                return MISSING
            node = node[idx]
        else:
            if not isinstance(node, dict) or part not in node:
                return MISSING
            node = node[part]
    return node


def _tuples(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if k in _TUPLE_KEYS else v for k, v in data.items()}


def _build(source: str, data: dict[str, Any], secrets: dict[str, str], kafka_env: KafkaEnvironment,
           pem_dir: str | Path | None) -> Settings:
    exchanges = []
    for i, raw in enumerate(data["exchanges"]):
        fields = _tuples(raw)
        if "exclude_codes" in fields:
            fields["exclude"] = tuple(fields.pop("exclude_codes"))
        if fields["markets"] == MARKETS_ALL:  # the codes come from the exchange's market list
            fields.update(markets=(), markets_all=True)
        else:
            fields["markets"] = tuple(dict.fromkeys(fields["markets"]))  # duplicates removed
        try:
            exchanges.append(ExchangeConfig(**fields))
        except Exception as exc:  # the config's own validation; report it against the field it names
            message = str(exc)
            field = next((f for f in raw if message.startswith(f)), None)
            key, value = (f"exchanges[{i}].{field}", raw[field]) if field else (f"exchanges[{i}]", raw.get("name"))
            raise SettingsError.single(source, key, value, message) from None
    too_many = process_limit_problem(exchanges, bool(data.get("kafka", {}).get("events", True)))
    if too_many:
        raise SettingsError.single(source, "exchanges[*].markets_per_connection",
                                   [cfg.markets_per_connection for cfg in exchanges], too_many)
    web_token = secrets.pop("web_token", None)
    if web_token is not None and len(web_token) < WEB_TOKEN_MIN_LENGTH:
        raise SettingsError.single(source, WEB_TOKEN_ENV, "<hidden>",
                                   f"a token of at least {WEB_TOKEN_MIN_LENGTH} characters "
                                   "(e.g. from: openssl rand -hex 32)")
    kafka = _tuples(data.get("kafka", {}))
    kafka.update({k: v for k, v in secrets.items() if k not in _SECRET_KEYS})
    kafka.update({k: Secret(v) for k, v in secrets.items() if k in _SECRET_KEYS})
    # A file path from KRWFEED_KAFKA_SSL_* wins over Heroku's PEM text for the same file.
    pem = {key: value for key, value in kafka_env.pem.items() if key not in secrets}
    if pem:
        kafka.update(write_pem_files(pem, pem_dir))
    if kafka_env.topic_prefix:
        kafka["topic_template"] = kafka_env.topic_prefix + kafka.get("topic_template", KafkaSettings().topic_template)
    if kafka_env.check_hostname is not None:
        kafka["ssl_check_hostname"] = kafka_env.check_hostname
    elif "ssl_cafile" in pem:
        kafka["ssl_check_hostname"] = False  # Heroku's certificates do not name the brokers' hosts
    _check_kafka_secrets(source, kafka)
    check_tls(source, kafka, pem_origins={key: var for key, (var, _) in pem.items()})
    buffer = dict(data.get("buffer", {}))
    kafka_settings = KafkaSettings(**kafka)
    # the buffer keeps a trade as long as the Kafka client would keep trying to deliver it
    # (and, full, keeps trades before orderbooks)
    retries_for_s = delivery(kafka_settings).retries_for_s
    buffer["ttl_s"] = ttl_for_delivery({**BufferSettings().ttl_s, **buffer.get("ttl_s", {})}, retries_for_s)
    buffer["keep_at_capacity"] = keep_at_capacity_for(retries_for_s)
    return Settings(
        exchanges=tuple(exchanges),
        kafka=kafka_settings,
        buffer=BufferSettings(**buffer),
        web=WebSettings(**data.get("web", {}), token=Secret(web_token) if web_token else None),
        log=LogSettings(**data.get("log", {})),
        **{k: data[k] for k in ("progress_every", "admin_port") if k in data},
        source=source,
    )


def _check_kafka_secrets(source: str, kafka: dict[str, Any]) -> None:
    proto = kafka.get("security_protocol", "PLAINTEXT")
    if proto.startswith("SASL"):
        for key in ("sasl_username", "sasl_password"):
            if not kafka.get(key):
                raise SettingsError.single(source, f"kafka.{key}", MISSING,
                                           f"set KRWFEED_KAFKA_{key.upper()} in the environment or .env "
                                           f"(security_protocol is {proto})")
    for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        value = kafka.get(key)
        if value and not Path(value).is_file():
            raise SettingsError.single(source, f"kafka.{key}", value,
                                       f"an existing file (from KRWFEED_KAFKA_{key.upper()})")
