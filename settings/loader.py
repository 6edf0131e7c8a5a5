"""``load_settings(path, overrides)``: YAML + environment -> validated ``messages.settings.Settings``."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError

from messages.config import ExchangeConfig
from messages.settings import BufferSettings, KafkaSettings, LogSettings, Secret, Settings, WebSettings
from settings.errors import MISSING, SettingsError, SettingsProblem, show_value
from settings.overrides import Overrides, apply_overrides, option_of, unknown_exchanges
from settings.schema import SettingsSchema
from settings.secrets import find_secret_keys, read_secret_env

_TUPLE_KEYS = {"markets", "data_types", "quote_currencies", "bootstrap_servers", "api_version"}


def load_settings(path: str | Path, overrides: Overrides | None = None, *,
                  environ: Mapping[str, str] | None = None,
                  dotenv_path: str | Path | None = None) -> Settings:
    source = str(path)
    doc = _read_yaml(source)
    secrets_found = find_secret_keys(doc)
    if secrets_found:
        raise SettingsError(source, [SettingsProblem(s.key, "<hidden>", s.allowed) for s in secrets_found])
    overrides = overrides or Overrides()
    unknown = unknown_exchanges(doc, overrides)
    if unknown:
        raise SettingsError(source, unknown)
    merged = apply_overrides(doc, overrides)
    try:
        data = SettingsSchema().load(merged)
    except ValidationError as exc:
        problems = [option_of(p, doc, overrides) for p in flatten_errors(exc.messages, merged)]
        raise SettingsError(source, problems) from None
    secrets = read_secret_env(environ, dotenv_path)
    return _build(source, data, secrets)


def _read_yaml(source: str) -> dict[str, Any]:
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError.single(source, "(file)", source, f"a readable YAML file ({exc.strerror})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        key = f"(line {where.line + 1}, column {where.column + 1})" if where else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SettingsError.single(source, key, "<unparsable>", f"valid YAML ({problem})") from None
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


def _build(source: str, data: dict[str, Any], secrets: dict[str, str]) -> Settings:
    exchanges = []
    for i, raw in enumerate(data["exchanges"]):
        fields = _tuples(raw)
        fields["markets"] = tuple(dict.fromkeys(fields["markets"]))  # duplicates removed (seed S1.3-c)
        try:
            exchanges.append(ExchangeConfig(**fields))
        except Exception as exc:  # the config's own validation; report it against the field it names
            message = str(exc)
            field = next((f for f in raw if message.startswith(f)), None)
            key, value = (f"exchanges[{i}].{field}", raw[field]) if field else (f"exchanges[{i}]", raw.get("name"))
            raise SettingsError.single(source, key, value, message) from None
    kafka = _tuples(data.get("kafka", {}))
    kafka.update({k: v for k, v in secrets.items() if k != "sasl_password"})
    if "sasl_password" in secrets:
        kafka["sasl_password"] = Secret(secrets["sasl_password"])
    _check_kafka_secrets(source, kafka)
    buffer = dict(data.get("buffer", {}))
    if "ttl_s" in buffer:
        buffer["ttl_s"] = {**BufferSettings().ttl_s, **buffer["ttl_s"]}
    return Settings(
        exchanges=tuple(exchanges),
        kafka=KafkaSettings(**kafka),
        buffer=BufferSettings(**buffer),
        web=WebSettings(**data.get("web", {})),
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
