"""Secrets come only from the environment or a ``.env`` file, never from the YAML file."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

ENV_PREFIX = "KRWFEED_KAFKA_"
# kafka settings key -> environment variable
SECRET_ENV = {
    "sasl_username": ENV_PREFIX + "SASL_USERNAME",
    "sasl_password": ENV_PREFIX + "SASL_PASSWORD",
    "ssl_cafile": ENV_PREFIX + "SSL_CAFILE",
    "ssl_certfile": ENV_PREFIX + "SSL_CERTFILE",
    "ssl_keyfile": ENV_PREFIX + "SSL_KEYFILE",
    "ssl_password": ENV_PREFIX + "SSL_PASSWORD",  # decrypts an encrypted ssl_keyfile
}
WEB_TOKEN_ENV = "KRWFEED_WEB_TOKEN"
WEB_TOKEN_MIN_LENGTH = 16
# Key names that look like credentials anywhere in the YAML document.
_SECRET_WORDS = ("password", "secret", "api_key", "apikey", "access_key", "token", "credential")


@dataclass(frozen=True, slots=True)
class SecretInYaml:
    key: str
    allowed: str


def find_secret_keys(doc: Any, path: str = "") -> list[SecretInYaml]:
    """Every key in the parsed YAML that holds (or looks like it holds) a secret."""
    found: list[SecretInYaml] = []
    if isinstance(doc, Mapping):
        for key, value in doc.items():
            name = str(key)
            here = f"{path}.{name}" if path else name
            if path == "kafka" and name in SECRET_ENV:
                found.append(SecretInYaml(here, f"not allowed in the config file; set {SECRET_ENV[name]} "
                                                "in the environment or a .env file"))
            elif path == "web" and name == "token":
                found.append(SecretInYaml(here, f"not allowed in the config file; set {WEB_TOKEN_ENV} "
                                                "in the environment or a .env file"))
            elif any(word in name.lower() for word in _SECRET_WORDS):
                found.append(SecretInYaml(here, "secrets are not allowed in the config file; "
                                                "use environment variables or a .env file"))
            else:
                found.extend(find_secret_keys(value, here))
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            found.extend(find_secret_keys(item, f"{path}[{i}]"))
    return found


def merged_environment(environ: Mapping[str, str] | None, dotenv_path: str | Path | None) -> dict[str, str]:
    """The ``.env`` file's variables overlaid by the process environment (which wins)."""
    merged: dict[str, str] = {}
    env_file = Path(dotenv_path) if dotenv_path is not None else Path.cwd() / ".env"
    if env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def read_secret_env(environ: Mapping[str, str] | None, dotenv_path: str | Path | None = None) -> dict[str, str]:
    """Secret values by kafka key, plus ``web_token``, from ``merged_environment``."""
    merged = merged_environment(environ, dotenv_path)
    found = {key: merged[var] for key, var in SECRET_ENV.items() if merged.get(var)}
    if merged.get(WEB_TOKEN_ENV):
        found["web_token"] = merged[WEB_TOKEN_ENV]
    return found


def kafka_secret_values(kafka: Any) -> tuple[str, ...]:
    """The strings to mask in every log line for these ``KafkaSettings``."""
    return secret_values([kafka.sasl_username,
                          kafka.sasl_password.value if kafka.sasl_password else None,
                          kafka.ssl_password.value if kafka.ssl_password else None])


def secret_values(values: Iterable[str | None]) -> tuple[str, ...]:
    """Non-trivial secret strings to mask in logs (longest first so overlaps mask fully)."""
    return tuple(sorted({v for v in values if v and len(v) >= 3}, key=len, reverse=True))
